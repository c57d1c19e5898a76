"""Push adapter: a Pub/Sub push request (the direct Pub/Sub trigger) onto relay.events.

2xx tells Pub/Sub the message is finished (done, or failed for good), 5xx that it should come
again; a body that is not a push envelope is a 400 and nothing runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relay import (
    InternalError,
    RelayError,
    TraceContext,
    log,
    new_request_id,
)
from relay.events import MAX_PUSH_BYTES, Disposition, decode_push
from relay.identity import caller_email

from ._body import read_limited, require_post
from .runtime import get_events

__all__ = ["handle_push", "push_identity"]

_encoder = msgspec.json.Encoder()


async def handle_push(request: Request) -> Response:
    """Answer one push: always JSON, even when a bug escapes (then a 500, so it comes again)."""
    try:
        require_post(request)
        body = await read_limited(request, MAX_PUSH_BYTES, what="push body")
        message = decode_push(
            body,
            trace=TraceContext.from_headers(request.headers),
            pushed_by=push_identity(request.headers),
        )
    except RelayError as exc:
        return _refuse(exc)
    try:
        disposition = await get_events().handle(message)
    except Exception as exc:
        request_id = new_request_id()
        log("ERROR", "unexpected failure", event="internal_error", request_id=request_id, exc=exc)
        error = InternalError(f"internal error; the logs hold details under {request_id}")
        return _answer(error, request_id)
    status = 200 if disposition is Disposition.FINISHED else 503  # the core logged a retry
    answer = {"message_id": message.message_id, "disposition": disposition.value}
    return Response(_encoder.encode(answer), status_code=status, media_type="application/json")


def push_identity(headers: Mapping[str, str]) -> str | None:
    """Who pushed: the email in the push's OIDC token (relay/identity.py: X-Serverless-Authorization
    first, which Cloud Run verified when both are present, else Authorization)."""
    return caller_email(headers.get("x-serverless-authorization"), headers.get("authorization"))


def _refuse(error: RelayError) -> Response:
    request_id = new_request_id()
    log(
        "WARNING",
        f"push refused: {error.message}",
        outcome=error.type,
        request_id=request_id,
        source="pubsub",
    )
    return _answer(error, request_id)


def _answer(error: RelayError, request_id: str) -> Response:
    body = {"ok": False, "request_id": request_id, "error": error.to_dict()}
    return Response(_encoder.encode(body), status_code=error.status, media_type="application/json")
