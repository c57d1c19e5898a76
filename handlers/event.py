"""CloudEvent adapter: a Pub/Sub messagePublished event onto Relay.answer."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cloudevents.http.event import CloudEvent

from relay import ConfigError, Context, log

from ._runtime import get_relay

__all__ = ["RetryableFailure", "handle_event"]


class RetryableFailure(Exception):
    """Raised so that Pub/Sub redelivers the message: the failure may pass."""


async def handle_event(event: CloudEvent) -> None:
    """Run the prompt in a Pub/Sub message; return for success and permanent failures."""
    data: Any = event.data
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        log("ERROR", "event is not a Pub/Sub message; acknowledged", event_id=event["id"])
        return
    attributes = message.get("attributes") or {}
    message_id = str(message.get("messageId") or message.get("message_id") or event["id"])
    request_id = attributes.get("request_id") if isinstance(attributes, dict) else None
    context = Context(
        log_fields={"source": "pubsub", "pubsub_message_id": message_id},
        request_id=request_id or f"pubsub-{message_id}",
    )
    try:
        body = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        log("ERROR", "message data is not base64; acknowledged", **context.log_fields)
        return
    try:
        relay = get_relay()
    except ConfigError as exc:
        log("ERROR", f"configuration error: {exc.message}; acknowledged", **context.log_fields)
        return
    answer = await relay.answer(body, context)
    if answer.error is not None and answer.error.retryable:
        raise RetryableFailure(f"{answer.error.type}: redeliver message {message_id}")
