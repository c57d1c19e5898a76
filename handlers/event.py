"""CloudEvent adapter: a Pub/Sub messagePublished event onto Relay.answer.

Permanent failures (a bad payload, upstream_rejected, content_blocked, model_not_allowed,
config_error, and any other error that is not retryable) are logged and acknowledged, so a poison
message is not redelivered for ever; retryable ones raise, so Pub/Sub redelivers. A message id this
instance has already finished is not run again.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cloudevents.http.event import CloudEvent

from relay import REQUEST_ID, ConfigError, Context, TraceContext, log

from ._dedup import Deduplicator
from ._runtime import get_relay

__all__ = ["RetryableFailure", "handle_event"]

# Fields of a result that carry model text: logged only when LOG_PROMPTS asks for text.
_TEXT_FIELDS = ("output_text", "output_json", "refusal", "tool_calls", "raw")

_deduplicator = Deduplicator()


class RetryableFailure(Exception):
    """Raised so that Pub/Sub redelivers the message: the failure may pass."""


async def handle_event(event: CloudEvent) -> None:
    """Run the prompt in a Pub/Sub message; return for success and permanent failures."""
    data: Any = event.data
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        log("ERROR", "event is not a Pub/Sub message; acknowledged", event_id=str(event["id"]))
        return
    message_id = str(message.get("messageId") or message.get("message_id") or event["id"])
    attributes = message.get("attributes")
    request_id = attributes.get("request_id") if isinstance(attributes, dict) else None
    if not (isinstance(request_id, str) and REQUEST_ID.match(request_id)):
        request_id = f"pubsub-{message_id}"[:128]  # absent, or not the contract's shape
    context = Context(
        log_fields={"source": "pubsub", "pubsub_message_id": message_id[:128]},
        request_id=request_id,
        # Nobody reads an event's answer as it arrives: a `stream: true` payload runs plainly.
        allow_stream=False,
        # The publisher's trace (a message attribute), else the one Eventarc puts on the event.
        trace=TraceContext.from_attributes(attributes)
        or TraceContext.from_attributes({"traceparent": event.get("traceparent")}),
    )

    async def work() -> bool:
        return await _run(message, context)

    outcome = await _deduplicator.run_once(message_id, work)
    if outcome is None:
        log("INFO", "duplicate delivery; already handled", **context.log_fields)
    elif outcome is False:
        raise RetryableFailure(f"message {message_id} failed transiently; redeliver it")


async def _run(message: dict[str, Any], context: Context) -> bool:
    """True when the message is finished (success or permanent failure)."""
    try:
        body = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        log("ERROR", "message data is not base64; acknowledged", **context.log_fields)
        return True
    try:
        relay = get_relay()
    except ConfigError as exc:
        log("ERROR", f"configuration error: {exc.message}; acknowledged", **context.log_fields)
        return True
    answer = await relay.answer(body, context)
    if answer.error is not None:
        # The request's own log line already carries the error; this says what Pub/Sub is told.
        return not answer.error.retryable
    result = answer.body
    if not relay.settings.log_prompts:
        result = {key: value for key, value in result.items() if key not in _TEXT_FIELDS}
        if "results" in result:
            result["results"] = [
                {k: v for k, v in item.items() if k not in _TEXT_FIELDS}
                for item in answer.body["results"]
            ]
    log("INFO", "event result", result=result, **context.log_fields)
    return True
