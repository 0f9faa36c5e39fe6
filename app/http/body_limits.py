"""Request bodies read up to a limit: one mechanism for /graphql and every REST dialect.

A declared ``Content-Length`` past the limit is refused before one byte is read; the
bytes received are counted as they arrive, so an undeclared or lying length stops at
the limit too, and one request cannot hold the server's memory. Past the limit,
``BodyTooLarge``: each caller keeps its own limit and answers with its own 413 (the
GraphQL error shape, a vendor's error body).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message


class BodyTooLarge(Exception):
    """The request body is larger than ``limit`` bytes (declared, or counted so far)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def check_declared_length(request: Request, limit: int) -> None:
    """BodyTooLarge when ``Content-Length`` says more than ``limit`` bytes.

    A length that is not a plain decimal number is no promise: the count decides.
    """
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes; BodyTooLarge past it."""
    check_declared_length(request, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # stops reading as soon as the body is too large
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def bounded(request: Request, limit: int) -> Request:
    """``request`` for a parser that reads the body itself (a multipart form).

    BodyTooLarge at once for a declared length past ``limit``, else from the parser's
    read that takes the body past it.
    """
    check_declared_length(request, limit)
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return Request(request.scope, receive)
