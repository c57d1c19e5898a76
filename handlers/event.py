"""CloudEvent adapter: a Pub/Sub messagePublished event onto Relay.answer.

Permanent failures (a bad payload, upstream_rejected, content_blocked, model_not_allowed,
config_error, and any other error that is not retryable) are logged and acknowledged, so a poison
message is not redelivered for ever; retryable ones raise, so Pub/Sub redelivers. A message id this
instance has already finished is not run again. A message back from the dead-letter topic is never
run: a bulk item gets its final error line, anything else is logged (docs/bulk.md).

A finished outcome goes to the result sinks (docs/delivery.md). When that fails, the outcome is
kept and the event raises: the redelivery only retries the delivery. The prompt carries a gateway
cache key made from the message id, so a redelivery that reaches another instance is answered
from the gateway's cache instead of being billed again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import msgspec
from cloudevents.http.event import CloudEvent

from relay import (
    REQUEST_ID,
    ConfigError,
    Context,
    InvalidRequest,
    PayloadTooLarge,
    RelayError,
    TraceContext,
    log,
)
from relay.bulk import (
    BulkItemAttributes,
    bulk_attributes,
    dead_letter_deliveries,
    finish_dead_lettered,
    item_cache_id,
    run_bulk_item,
)
from relay.identity import Identity

from ._dedup import Deduplicator
from ._delivery import Pending, PendingOutcomes, get_deliverer
from ._runtime import get_relay

__all__ = ["RetryableFailure", "handle_event"]

# Fields of a result that carry model text: logged only when LOG_PROMPTS asks for text.
_TEXT_FIELDS = ("output_text", "output_json", "refusal", "tool_calls", "raw")

_deduplicator = Deduplicator()
_pending = PendingOutcomes()


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
    item = bulk_attributes(attributes)
    context = Context(
        log_fields={"source": "pubsub", "pubsub_message_id": message_id[:128]},
        identity=Identity(source="bulk" if item else "pubsub", bulk=item[0] if item else None),
        request_id=request_id,
        # Nobody reads an event's answer as it arrives: a `stream: true` payload runs plainly.
        allow_stream=False,
        # The publisher's trace (a message attribute), else the one Eventarc puts on the event.
        trace=TraceContext.from_attributes(attributes)
        or TraceContext.from_attributes({"traceparent": event.get("traceparent")}),
    )

    dead_letter = dead_letter_deliveries(attributes)

    async def work() -> bool:
        if dead_letter is not None:
            return await _dead_letter(item, dead_letter, context)
        if item is not None:
            return await _run_bulk(message, message_id, item, context)
        return await _run_and_deliver(message, message_id, context)

    outcome = await _deduplicator.run_once(message_id, work)
    if outcome is None:
        log("INFO", "duplicate delivery; already handled", **context.log_fields)
    elif outcome is False:
        raise RetryableFailure(f"message {message_id} failed transiently; redeliver it")


async def _run_and_deliver(message: dict[str, Any], message_id: str, context: Context) -> bool:
    """True when the message is finished and its outcome delivered (when sinks are set)."""
    pending = _pending.pop(message_id)
    if pending is None:
        finished, outcome = await _run(message, message_id, context)
        if not finished or outcome is None:
            return finished
        pending = Pending(outcome, frozenset())
    try:
        deliverer = get_deliverer(get_relay().settings)
    except ConfigError:
        return True  # already logged; settings that cannot load name no sink either
    if deliverer is None:
        return True
    reports = await deliverer.deliver(
        pending.outcome,
        "pubsub",
        request_id=context.request_id,
        only=pending.sinks or None,
    )
    failed = frozenset(r["sink"] for r in reports if not r["ok"])
    if not failed:
        return True
    # Kept so that the redelivery retries only the delivery (and only to the sinks that failed).
    _pending.put(message_id, Pending(pending.outcome, failed))
    log(
        "WARNING",
        "outcome kept for redelivery: delivery failed",
        event="delivery_pending",
        request_id=context.request_id,
        sinks=sorted(failed),
        **context.log_fields,
    )
    return False


async def _run_bulk(
    message: dict[str, Any], message_id: str, item: BulkItemAttributes, context: Context
) -> bool:
    """A bulk item: its outcome goes to its own object, not to the result sinks."""
    try:
        relay = get_relay()
    except ConfigError as exc:
        log("ERROR", f"configuration error: {exc.message}; redelivered", **context.log_fields)
        return False  # the item stays pending rather than lost; fix the setting
    body = _message_body(message, relay.settings.max_body_bytes)
    if isinstance(body, RelayError):
        return await run_bulk_item(relay, body, item, context)  # written as an error line
    bulk_id, custom_id, _ = item
    # The same item always carries the same cache key: a redelivery that runs again anyway
    # (its outcome was not written) is answered from the gateway's cache, not billed twice.
    keyed = cache_keyed(body, item_cache_id(bulk_id, custom_id))  # hashed when too long
    return await run_bulk_item(relay, keyed, item, context)


async def _dead_letter(item: BulkItemAttributes | None, deliveries: str, context: Context) -> bool:
    """A message back from the dead-letter topic (its own trigger, infra/pubsub.tf): never run
    again. A bulk item gets its final error line; anything else is logged and acknowledged."""
    if item is None:
        log(
            "ERROR",
            "dead-lettered message acknowledged, not run again",
            event="dead_lettered",
            deliveries=deliveries,
            **context.log_fields,
        )
        return True
    try:
        relay = get_relay()
    except ConfigError as exc:
        log("ERROR", f"configuration error: {exc.message}; redelivered", **context.log_fields)
        return False
    return await finish_dead_lettered(relay, item, deliveries, context)


def _message_body(message: dict[str, Any], limit: int) -> bytes | RelayError:
    data = message.get("data") or ""
    if isinstance(data, str | bytes) and len(data) > (limit + 2) // 3 * 4:
        return PayloadTooLarge(f"message data is over the {limit} byte limit (MAX_BODY_BYTES)")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return InvalidRequest("message data is not base64")


async def _run(
    message: dict[str, Any], message_id: str, context: Context
) -> tuple[bool, dict[str, Any] | None]:
    """(finished, the outcome an HTTP caller would get); finished is False for a retryable
    failure."""
    try:
        relay = get_relay()
    except ConfigError as exc:
        log("ERROR", f"configuration error: {exc.message}; acknowledged", **context.log_fields)
        return True, None
    limit = relay.settings.max_body_bytes
    data = message.get("data") or ""
    # MAX_BODY_BYTES holds for events as for HTTP: checked on the encoded size first (base64 is
    # 4/3 of the data), so an oversized message is never decoded whole.
    if isinstance(data, str | bytes) and len(data) > (limit + 2) // 3 * 4:
        return True, _refused(
            PayloadTooLarge(f"message data is over the {limit} byte limit (MAX_BODY_BYTES)"),
            context,
        )
    try:
        body = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return True, _refused(InvalidRequest("message data is not base64"), context)
    if len(body) > limit:
        return True, _refused(
            PayloadTooLarge(
                f"message data is {len(body)} bytes, over the {limit} byte limit (MAX_BODY_BYTES)"
            ),
            context,
        )
    answer = await relay.answer(cache_keyed(body, message_id), context)
    if answer.error is not None:
        # The request's own log line already carries the error; this says what Pub/Sub is told.
        return not answer.error.retryable, answer.body
    result = answer.body
    if not relay.settings.log_prompts:
        result = {key: value for key, value in result.items() if key not in _TEXT_FIELDS}
        if "results" in result:
            result["results"] = [
                {k: v for k, v in item.items() if k not in _TEXT_FIELDS}
                for item in answer.body["results"]
            ]
    log("INFO", "event result", result=result, **context.log_fields)
    return True, answer.body


def cache_keyed(body: bytes, message_id: str) -> bytes:
    """The payload with a gateway cache key derived from the message, for each prompt that sets
    no key and does not skip the cache; unchanged when it is not a JSON object."""
    if not REQUEST_ID.match(message_id):
        return body  # only a header-safe id may go into cf-aig-cache-key
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return body
    if not isinstance(data, dict):
        return body
    # The payload's hash too: a message id is unique per topic only.
    base = f"pubsub:{message_id}:{hashlib.sha256(body).hexdigest()[:16]}"
    items = data.get("requests")
    if isinstance(items, list):
        changed = [_add_cache_key(item, f"{base}:{i}") for i, item in enumerate(items)]
    else:
        changed = [_add_cache_key(data, base)]
    if not any(changed):
        return body
    try:
        return msgspec.json.encode(data)
    except (TypeError, RecursionError):
        return body


def _add_cache_key(item: Any, key: str) -> bool:
    if not isinstance(item, dict):
        return False
    cache = item.get("cache")
    if cache is None:
        item["cache"] = {"key": key}
        return True
    if isinstance(cache, dict) and cache.get("key") is None and not cache.get("skip"):
        cache["key"] = key
        return True
    return False


def _refused(error: RelayError, context: Context) -> dict[str, Any]:
    """A message refused before it ran: logged, acknowledged, and delivered as an error."""
    log(
        "ERROR",
        f"{error.message}; acknowledged",
        outcome=error.type,
        **context.log_fields,
    )
    return {"ok": False, "request_id": context.request_id, "error": error.to_dict()}
