"""The load generator of benchmarks/hold_cycle.py, run in its own process like loadgen.py.

It reads a JSON job on stdin and runs ``concurrency`` keep-alive clients (raw asyncio
HTTP/1.1, as benchmarks/loadgen.py) on 127.0.0.1, each taking the next pair until
``pairs`` were taken or ``max_seconds`` passed (a pair under way is finished, so no
hold is left open by the cap). A pair is two requests, the second sent when the first
is answered:

- ``cycle``: ``holdJournalEntry`` of a two-line entry (debit the wallet, credit the
  clearing account, an ``expiresAt`` a week ahead), then ``postHold`` of that entry id:
  in full, or every ``partial_every``-th pair by ``amount`` (half of what is held);
- ``posts``: two ``postJournalEntry`` of the same two-line entry, the first of the held
  amount and the second of the amount the cycle would post.

Every request carries an idempotency key unique to the job (``prefix``). Every response
is checked (HTTP 200, no GraphQL errors, no user errors, not replayed, the entry's
status, its id, its amounts); the report gives the pairs done, the minor units
acknowledged as held and as posted, the latency of each pair and of each request, and
the first failures. It is written as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.loadgen import _read_response

REQUEST_TIMEOUT_S = 30.0
MAX_SAMPLES = 5

ENTRY = "entry { id number status lines { accountCode debit credit } }"
HELD = ENTRY + " hold { status } replayed errors { code field message }"
POSTED = ENTRY + " replayed errors { code field message }"
HOLD = (
    "mutation($input: PostJournalEntryInput!, $expiresAt: DateTime) "
    "{ holdJournalEntry(input: $input, expiresAt: $expiresAt) { " + HELD + " } }"
)
POST_HOLD = "mutation($input: PostHoldInput!) { postHold(input: $input) { " + HELD + " } }"
POST_ENTRY = (
    "mutation($input: PostJournalEntryInput!) { postJournalEntry(input: $input) { "
    + POSTED
    + " } }"
)


@dataclass(frozen=True)
class Job:
    port: int
    key: str
    kind: str  # "cycle" or "posts"
    pairs: int
    concurrency: int
    max_seconds: float
    prefix: str  # makes the idempotency keys of this job unique
    date: str  # the entries' date (ISO)
    expires_at: str  # the holds' expiresAt (ISO, with a time zone)
    wallet: str
    clearing: str
    partial_every: int  # every n-th pair's postHold posts half; 0: always in full


@dataclass
class Report:
    pairs_sent: int = 0
    pairs_ok: int = 0
    failed: int = 0
    partial: int = 0  # pairs whose postHold posted part of the hold
    held_minor: int = 0  # cycle: what the acknowledged holds held; posts: the first posts
    posted_minor: int = 0  # cycle: what the acknowledged postHolds posted; posts: the second
    elapsed_s: float = 0.0
    timed_out: bool = False
    pair_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # hold / first post
    second_ms: list[float] = field(default_factory=list)  # postHold / second post
    failures: list[str] = field(default_factory=list)


def amounts(index: int, partial_every: int) -> tuple[int, int]:
    """Minor units held (or first posted) and posted (or second posted) by pair ``index``:
    1.00 to 50.99 held; half of it, rounded down, for every ``partial_every``-th pair."""
    held = 100 * (index % 50 + 1) + index % 100
    partial = partial_every > 0 and index % partial_every == partial_every - 1
    return held, held // 2 if partial else held


def text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def minor(value: str) -> int:
    units, _, cents = value.partition(".")
    return int(units) * 100 + int(cents.ljust(2, "0"))


class Refused(Exception):
    """A response that is not the success the pair needs."""


def payload_of(status: int, body: bytes, field_name: str) -> dict[str, Any]:
    if status != 200:
        raise Refused(f"HTTP {status}: {body[:300]!r}")
    try:
        document: Any = json.loads(body)
    except ValueError as error:
        raise Refused(f"unreadable response ({error!r}): {body[:300]!r}") from None
    if document.get("errors"):
        raise Refused(f"GraphQL errors: {document['errors']}")
    payload: dict[str, Any] | None = (document.get("data") or {}).get(field_name)
    if payload is None:
        raise Refused(f"no {field_name}: {body[:300]!r}")
    if payload["errors"]:
        raise Refused(f"{field_name}: user errors {payload['errors']}")
    if payload["replayed"]:
        raise Refused(f"{field_name}: replayed, but every key is new: {body[:300]!r}")
    return payload


def check_entry(payload: dict[str, Any], status: str, debit: str, credit: str, amount: int) -> str:
    """The entry's id, after checking its status and its two lines."""
    entry = payload["entry"]
    if not entry or not entry["id"] or entry["status"] != status:
        raise Refused(f"expected a {status} entry, got {entry}")
    lines = [(line["accountCode"], line["debit"], line["credit"]) for line in entry["lines"]]
    if lines != [(debit, text(amount), "0.00"), (credit, "0.00", text(amount))]:
        raise Refused(f"expected {text(amount)} from {debit} to {credit}, got {lines}")
    return str(entry["id"])


def _request_bytes(job: Job, document: str, variables: dict[str, Any]) -> bytes:
    body = json.dumps({"query": document, "variables": variables}).encode()
    head = (
        "POST /graphql HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{job.port}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Authorization: Bearer {job.key}\r\n\r\n"
    )
    return head.encode() + body


def _entry(job: Job, memo: str, amount: int, key: str) -> dict[str, Any]:
    return {
        "date": job.date,
        "memo": memo,
        "idempotencyKey": key,
        "lines": [
            {"accountCode": job.wallet, "debit": text(amount)},
            {"accountCode": job.clearing, "credit": text(amount)},
        ],
    }


class Connection:
    """One keep-alive connection, reopened after a transport error or a close."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                if self.streams is None:
                    self.streams = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = self.streams
                writer.write(request)
                await writer.drain()
                status, body, keep_alive = await _read_response(reader)
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as error:
            self.close()
            raise Refused(f"transport: {error!r}") from None
        if not keep_alive:
            self.close()
        return status, body

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def cycle_pair(job: Job, conn: Connection, index: int, report: Report) -> None:
    held, posted = amounts(index, job.partial_every)
    hold = _entry(job, f"card auth {index}", held, f"{job.prefix}-h{index}")
    started = time.perf_counter()
    status, body = await conn.send(
        _request_bytes(job, HOLD, {"input": hold, "expiresAt": job.expires_at})
    )
    payload = payload_of(status, body, "holdJournalEntry")
    entry_id = check_entry(payload, "PENDING", job.wallet, job.clearing, held)
    if payload["hold"]["status"] != "PENDING":
        raise Refused(f"hold {entry_id}: {payload['hold']}")
    between = time.perf_counter()
    capture: dict[str, Any] = {"entryId": entry_id, "idempotencyKey": f"{job.prefix}-c{index}"}
    if posted != held:
        capture["amount"] = text(posted)
    status, body = await conn.send(_request_bytes(job, POST_HOLD, {"input": capture}))
    payload = payload_of(status, body, "postHold")
    if check_entry(payload, "POSTED", job.wallet, job.clearing, posted) != entry_id:
        raise Refused(f"postHold of {entry_id} answered another entry: {payload['entry']}")
    if payload["hold"]["status"] != "POSTED":
        raise Refused(f"hold {entry_id} after postHold: {payload['hold']}")
    done = time.perf_counter()
    report.first_ms.append((between - started) * 1000)
    report.second_ms.append((done - between) * 1000)
    report.pair_ms.append((done - started) * 1000)
    report.held_minor += held
    report.posted_minor += posted
    report.partial += posted != held


async def posts_pair(job: Job, conn: Connection, index: int, report: Report) -> None:
    first, second = amounts(index, job.partial_every)
    started = time.perf_counter()
    times = [started]
    for number, amount in ((1, first), (2, second)):
        entry = _entry(job, f"card payment {index}", amount, f"{job.prefix}-p{number}-{index}")
        status, body = await conn.send(_request_bytes(job, POST_ENTRY, {"input": entry}))
        payload = payload_of(status, body, "postJournalEntry")
        check_entry(payload, "POSTED", job.wallet, job.clearing, amount)
        times.append(time.perf_counter())
    report.first_ms.append((times[1] - times[0]) * 1000)
    report.second_ms.append((times[2] - times[1]) * 1000)
    report.pair_ms.append((times[2] - times[0]) * 1000)
    report.held_minor += first
    report.posted_minor += second
    report.partial += first != second


async def run(job: Job) -> Report:
    report = Report()
    deadline = time.monotonic() + job.max_seconds
    pair: Callable[[Job, Connection, int, Report], Any] = (
        cycle_pair if job.kind == "cycle" else posts_pair
    )

    def take() -> int | None:
        if report.pairs_sent >= job.pairs:
            return None
        if time.monotonic() >= deadline:
            report.timed_out = True
            return None
        report.pairs_sent += 1
        return report.pairs_sent - 1

    async def client() -> None:
        conn = Connection(job.port)
        try:
            while (index := take()) is not None:
                try:
                    await pair(job, conn, index, report)
                except Refused as error:
                    report.failed += 1
                    if len(report.failures) < MAX_SAMPLES:
                        report.failures.append(f"pair {index}: {error}")
                    continue
                report.pairs_ok += 1
        finally:
            conn.close()

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
