"""How the gateway emulator sends a stream, or trickles a body, as a fault step asks."""

from __future__ import annotations

import asyncio

from emulators.gateway._answers import Answer
from emulators.gateway._faults import Step
from emulators.gateway._http import HttpConnection

__all__ = ["SSE", "TRICKLE_INTERVAL", "send_stream", "trickle"]

SSE = "text/event-stream; charset=utf-8"
TRICKLE_INTERVAL = 0.2  # seconds between the bytes of a ``trickle`` body


async def send_stream(
    http: HttpConnection,
    step: Step,
    frames: list[bytes],
    extra: tuple[tuple[str, str], ...],
) -> bool:
    headers = [("content-type", SSE), ("cache-control", "no-cache"), *extra]
    if step.name == "trickle":
        return await trickle(http, Answer(200, b"".join(frames), SSE), extra)
    await http.start(200, headers)
    if step.name == "midstream":
        for frame in frames[: max(1, len(frames) // 2)]:
            await http.send(frame)
        return False
    for frame in frames:  # one chunk per event, so clients see them arrive one by one
        await http.send(frame)
    await http.finish()
    return True


async def trickle(http: HttpConnection, answer: Answer, extra: tuple[tuple[str, str], ...]) -> bool:
    """Headers at once, then the body one byte per TRICKLE_INTERVAL."""
    headers = [("content-type", answer.content_type), *extra]
    await http.start(200, [*headers, ("content-length", str(len(answer.body)))])
    for index in range(len(answer.body)):
        await asyncio.sleep(TRICKLE_INTERVAL)
        if http.closing:
            return False
        await http.send(answer.body[index : index + 1])
    await http.finish()
    return True
