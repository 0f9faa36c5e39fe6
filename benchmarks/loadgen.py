"""A small HTTP/1.1 load generator, run in its own process by the HTTP benchmarks.

It reads a JSON job on stdin, opens ``concurrency`` keep-alive connections to
127.0.0.1, sends the same pre-encoded POST until ``requests`` were sent or
``max_seconds`` passed, checks every response, counts the entries it
acknowledges, and writes a JSON report on stdout. Raw asyncio streams keep the
client's own CPU cost low: the machine has two cores and the server under test
needs one of them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

# Per request; a request slower than this counts as a failure.
REQUEST_TIMEOUT_S = 30.0
MAX_SAMPLES = 5


@dataclass(frozen=True)
class Job:
    port: int
    path: str
    body: str
    headers: dict[str, str]
    kind: str  # "graphql" or "bare": how a response is judged, see entries_of
    requests: int
    concurrency: int
    max_seconds: float


@dataclass
class Report:
    sent: int = 0
    ok: int = 0
    entries: int = 0  # acknowledged by the successful responses
    failed: int = 0
    elapsed_s: float = 0.0
    timed_out: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def entries_of(kind: str, status: int, body: bytes) -> int | str:
    """How many entries a successful response acknowledges, else why it is not a success.

    ``graphql``: the one field under ``data`` is a payload (``postJournalEntry``,
    ``noopJournalEntry``) or a list of payloads (``postJournalEntries``); every payload
    needs an entry with an id and an empty ``errors``. ``bare``: ``{"entry": ...}``.
    """
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    try:
        document: Any = json.loads(body)
        if kind == "graphql":
            if document.get("errors"):
                return f"GraphQL errors: {document['errors']}"
            (result,) = document["data"].values()
            payloads = result if isinstance(result, list) else [result]
            for payload in payloads:
                if payload["errors"]:
                    return f"user errors: {payload['errors']}"
            entries = [payload["entry"] for payload in payloads]
        else:
            entries = [document["entry"]]
        if not entries or not all(entry and entry["id"] for entry in entries):
            return f"no entry: {body[:300]!r}"
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return f"unreadable response ({error!r}): {body[:300]!r}"
    return len(entries)


def _request_bytes(job: Job) -> bytes:
    body = job.body.encode()
    head = [
        f"POST {job.path} HTTP/1.1",
        f"Host: 127.0.0.1:{job.port}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in job.headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    keep_alive = headers.get("connection", "").lower() != "close"
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), keep_alive
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, b"".join(chunks), keep_alive
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    raise ValueError("response has neither Content-Length nor chunked encoding")


async def run(job: Job) -> Report:
    report = Report()
    request = _request_bytes(job)
    deadline = time.monotonic() + job.max_seconds

    def take() -> bool:
        if report.sent >= job.requests:
            return False
        if time.monotonic() >= deadline:
            report.timed_out = True
            return False
        report.sent += 1
        return True

    def fail(reason: str) -> None:
        report.failed += 1
        if len(report.failures) < MAX_SAMPLES:
            report.failures.append(reason)

    async def client() -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while take():
            started = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    if connection is None:
                        connection = await asyncio.open_connection("127.0.0.1", job.port)
                    reader, writer = connection
                    writer.write(request)
                    await writer.drain()
                    status, body, keep_alive = await _read_response(reader)
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as error:
                fail(f"transport: {error!r}")
                if connection is not None:
                    connection[1].close()
                connection = None
                continue
            report.latencies_ms.append((time.perf_counter() - started) * 1000)
            judged = entries_of(job.kind, status, body)
            if isinstance(judged, int):
                report.ok += 1
                report.entries += judged
            else:
                fail(judged)
            if not keep_alive:
                writer.close()
                connection = None
        if connection is not None:
            connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(job.concurrency)))
    report.elapsed_s = time.perf_counter() - started
    return report


def main() -> None:
    job = Job(**json.load(sys.stdin))
    report = asyncio.run(run(job))
    json.dump(asdict(report), sys.stdout)


if __name__ == "__main__":
    main()
