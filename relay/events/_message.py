"""A Pub/Sub message as the event core takes it, read from the JSON form both triggers carry
(`{"data", "attributes", "messageId", ...}`), and the gateway cache key a message gives its
prompts."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidRequest, PayloadTooLarge, RelayError
from ..request import REQUEST_ID
from ..tracing import TraceContext

__all__ = [
    "MAX_DATA_BYTES",
    "Disposition",
    "PubSubMessage",
    "message_cache_key",
    "message_from_json",
]

# The most a message's data may decode to before MAX_BODY_BYTES is even looked at: the highest
# MAX_BODY_BYTES allows (Pub/Sub's own cap is 10 MB), so huge data is never decoded whole.
MAX_DATA_BYTES = 32 * 1024 * 1024


class Disposition(enum.StrEnum):
    """What Pub/Sub is told: FINISHED is acknowledged (done, a duplicate, or failed for good),
    RETRY is not, so the message comes again."""

    FINISHED = "finished"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class PubSubMessage:
    """One delivery of a Pub/Sub message, whichever trigger brought it."""

    message_id: str
    # The payload, base64 already decoded; or why it could not be (acknowledged, and delivered
    # as that error).
    data: bytes | RelayError
    attributes: Mapping[str, str] = field(default_factory=dict)
    # Pub/Sub's count of deliveries so far, when the subscription has a dead-letter policy.
    delivery_attempt: int | None = None
    trace: TraceContext | None = None
    # The service account that pushed it, read from its OIDC token (push trigger only; the
    # token's signature is checked by the platform, not here).
    pushed_by: str | None = None


def message_from_json(
    message: Mapping[str, Any],
    *,
    fallback_id: str,
    delivery_attempt: int | None = None,
    trace: TraceContext | None = None,
    pushed_by: str | None = None,
) -> PubSubMessage:
    """The message in its JSON form; the publisher's trace (a `traceparent` attribute) wins over
    `trace`, the one the trigger carries."""
    message_id = message.get("messageId") or message.get("message_id") or fallback_id
    raw = message.get("attributes")
    attributes = (
        {str(k): v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, dict) else {}
    )
    return PubSubMessage(
        message_id=str(message_id),
        data=_decode(message.get("data")),
        attributes=attributes,
        delivery_attempt=delivery_attempt,
        trace=TraceContext.from_attributes(attributes) or trace,
        pushed_by=pushed_by,
    )


def _decode(data: Any) -> bytes | RelayError:
    if data is None:
        return b""
    if not isinstance(data, str | bytes):
        return InvalidRequest("message data is not base64")
    # Checked on the encoded size first (base64 is 4/3 of the data).
    if len(data) > (MAX_DATA_BYTES + 2) // 3 * 4:
        return PayloadTooLarge(f"message data is over {MAX_DATA_BYTES} bytes")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return InvalidRequest("message data is not base64")


def message_cache_key(body: bytes, message_id: str) -> str | None:
    """The gateway cache key for a message's prompts (`Context.default_cache_key`: used where a
    prompt sets no key and does not skip the cache), or None when the id is not header-safe."""
    if not REQUEST_ID.match(message_id):
        return None  # only a header-safe id may go into cf-aig-cache-key
    # The payload's hash too: a message id is unique per topic only.
    return f"pubsub:{message_id}:{hashlib.sha256(body).hexdigest()[:16]}"
