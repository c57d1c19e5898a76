"""Reading a POST's body in both HTTP adapters: refused before it is read whole when too large."""

from __future__ import annotations

from starlette.requests import Request

from relay import MethodNotAllowed, PayloadTooLarge

__all__ = ["read_limited", "require_post"]


def require_post(request: Request) -> None:
    """405 for any method but POST."""
    if request.method != "POST":
        raise MethodNotAllowed(f"use POST, not {request.method}")


async def read_limited(request: Request, limit: int, *, what: str, setting: str = "") -> bytes:
    """The body, at most `limit` bytes: a larger declared length is refused before any byte is
    read, and a body that keeps coming is cut off at the limit (`what` and `setting` name them
    in the 413's message)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"{what} is {declared} bytes; the limit is {limit}{setting}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{what} is over the {limit} byte limit{setting}")
        chunks.append(chunk)
    return b"".join(chunks)
