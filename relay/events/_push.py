"""The Pub/Sub push body (the direct Pub/Sub trigger), checked.

Pub/Sub POSTs `{"message": {"data", "attributes", "messageId", "publishTime"}, "subscription",
"deliveryAttempt"?}`. A body of any other shape did not come from a push subscription: it is
refused with an `invalid_request` naming what was wrong, and nothing runs.
"""

from __future__ import annotations

import msgspec

from ..errors import InvalidRequest
from ..tracing import TraceContext
from ._message import PubSubMessage, message_from_json

__all__ = ["MAX_PUSH_BYTES", "decode_push"]

# Pub/Sub's 10 MB message cap, base64-encoded, plus the envelope: a push body is never larger.
MAX_PUSH_BYTES = 16 * 1024 * 1024


def decode_push(
    body: bytes, *, trace: TraceContext | None = None, pushed_by: str | None = None
) -> PubSubMessage:
    """The message a push body carries; InvalidRequest naming what is wrong when it is not a
    push body."""
    try:
        envelope = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("push body is not JSON") from None
    if not isinstance(envelope, dict):
        raise InvalidRequest("push body is not a JSON object")
    message = envelope.get("message")
    if not isinstance(message, dict):
        raise InvalidRequest("push body has no `message` object")
    message_id = message.get("messageId")
    if not (isinstance(message_id, str) and message_id):
        raise InvalidRequest("push body's `message.messageId` is missing or not a string")
    data = message.get("data")
    if data is not None and not isinstance(data, str):
        raise InvalidRequest("push body's `message.data` is not a string")
    attributes = message.get("attributes")
    if attributes is not None and not (
        isinstance(attributes, dict) and all(isinstance(v, str) for v in attributes.values())
    ):
        raise InvalidRequest("push body's `message.attributes` is not an object of strings")
    subscription = envelope.get("subscription")
    if subscription is not None and not isinstance(subscription, str):
        raise InvalidRequest("push body's `subscription` is not a string")
    attempt = envelope.get("deliveryAttempt")
    if attempt is not None and (isinstance(attempt, bool) or not isinstance(attempt, int)):
        raise InvalidRequest("push body's `deliveryAttempt` is not an integer")
    return message_from_json(
        message,
        fallback_id=message_id,
        delivery_attempt=attempt,
        trace=trace,
        pushed_by=pushed_by,
    )
