"""The event core: one Pub/Sub message in, what to tell Pub/Sub out.

Permanent failures (a bad payload, upstream_rejected, content_blocked, model_not_allowed,
config_error, and any other error that is not retryable) are logged and acknowledged, so a poison
message is not redelivered for ever; retryable ones are not acknowledged, so Pub/Sub redelivers.
A message id this instance has already finished is not run again. A message back from the
dead-letter topic is never run: a bulk item gets its final error line, anything else is logged
(docs/bulk.md).

A finished outcome goes to the result sinks (docs/delivery.md). When that fails, the outcome is
kept and the message is not acknowledged: the redelivery only retries the delivery. The prompt
carries a gateway cache key made from the message id, so a redelivery that reaches another
instance is answered from the gateway's cache instead of being billed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..bulk import (
    BulkItemAttributes,
    bulk_attributes,
    dead_letter_deliveries,
    finish_dead_lettered,
    item_cache_id,
    run_bulk_item,
)
from ..delivery import Deliverer
from ..errors import ConfigError, PayloadTooLarge, RelayError
from ..identity import Identity
from ..logs import log
from ..outcome import Context
from ..request import REQUEST_ID
from ..service import Relay
from ._dedup import Deduplicator
from ._message import Disposition, PubSubMessage, message_cache_key
from ._pending import Pending, PendingOutcomes

__all__ = ["EventCore"]

# Fields of a result that carry model text: logged only when LOG_PROMPTS asks for text.
_TEXT_FIELDS = ("output_text", "output_json", "refusal", "tool_calls", "raw")


class EventCore:
    """Runs Pub/Sub messages for one process: its de-duplication, kept outcomes and sinks."""

    def __init__(self, get_relay: Callable[[], Relay]) -> None:
        # A getter, not a Relay: it raises ConfigError while the settings are wrong, and each
        # message reports that its own way.
        self._get_relay = get_relay
        self._deduplicator = Deduplicator()
        self._pending = PendingOutcomes()
        self._deliverer: Deliverer | None = None

    async def handle(self, message: PubSubMessage) -> Disposition:
        """Run one delivery of `message`; FINISHED when Pub/Sub may forget it."""
        attributes = dict(message.attributes)
        item = bulk_attributes(attributes)
        dead_letter = dead_letter_deliveries(attributes)
        context = _context(message, item)

        async def work() -> bool:
            if dead_letter is not None:
                return await self._dead_letter(item, dead_letter, context)
            if item is not None:
                return await self._run_bulk(message, item, context)
            return await self._run_and_deliver(message, context)

        finished = await self._deduplicator.run_once(message.message_id, work)
        if finished is None:
            log("INFO", "duplicate delivery; already handled", **context.log_fields)
        elif finished is False:
            # The one line for every trigger: what Pub/Sub is told, and why to read on.
            log(
                "WARNING",
                "message failed transiently; Pub/Sub delivers it again",
                error=f"message {message.message_id[:128]} failed transiently; redeliver it",
                **context.log_fields,
            )
            return Disposition.RETRY
        return Disposition.FINISHED

    async def _run_and_deliver(self, message: PubSubMessage, context: Context) -> bool:
        """True when the message is finished and its outcome delivered (when sinks are set)."""
        pending = self._pending.pop(message.message_id)
        if pending is None:
            finished, outcome = await self._run(message, context)
            if not finished or outcome is None:
                return finished
            pending = Pending(outcome, frozenset())
        try:
            settings = self._get_relay().settings
        except ConfigError:
            return True  # already logged; settings that cannot load name no sink either
        if not (settings.results_topic or settings.results_bucket):
            return True
        if self._deliverer is None:
            self._deliverer = Deliverer.from_settings(settings)
        reports = await self._deliverer.deliver(
            pending.outcome,
            "pubsub",
            request_id=context.request_id,
            only=pending.sinks or None,
        )
        failed = frozenset(r["sink"] for r in reports if not r["ok"])
        if not failed:
            return True
        # Kept so that the redelivery retries only the delivery (and only to the sinks that failed).
        self._pending.put(message.message_id, Pending(pending.outcome, failed))
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
        self, message: PubSubMessage, item: BulkItemAttributes, context: Context
    ) -> bool:
        """A bulk item: its outcome goes to its own object, not to the result sinks."""
        try:
            relay = self._get_relay()
        except ConfigError as exc:
            log("ERROR", f"configuration error: {exc.message}; redelivered", **context.log_fields)
            return False  # the item stays pending rather than lost; fix the setting
        body = _body(message, relay.settings.max_body_bytes)
        if isinstance(body, RelayError):
            return await run_bulk_item(relay, body, item, context)  # written as an error line
        bulk_id, custom_id, _ = item
        # The same item always carries the same cache key: a redelivery that runs again anyway
        # (its outcome was not written) is answered from the gateway's cache, not billed twice.
        key = message_cache_key(body, item_cache_id(bulk_id, custom_id))  # hashed when too long
        return await run_bulk_item(relay, body, item, replace(context, default_cache_key=key))

    async def _dead_letter(
        self, item: BulkItemAttributes | None, deliveries: str, context: Context
    ) -> bool:
        """A message back from the dead-letter topic: never run again. A bulk item gets its
        final error line; anything else is logged and acknowledged."""
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
            relay = self._get_relay()
        except ConfigError as exc:
            log("ERROR", f"configuration error: {exc.message}; redelivered", **context.log_fields)
            return False
        return await finish_dead_lettered(relay, item, deliveries, context)

    async def _run(
        self, message: PubSubMessage, context: Context
    ) -> tuple[bool, dict[str, Any] | None]:
        """(finished, the outcome an HTTP caller would get); finished is False for a retryable
        failure."""
        try:
            relay = self._get_relay()
        except ConfigError as exc:
            log("ERROR", f"configuration error: {exc.message}; acknowledged", **context.log_fields)
            return True, None
        body = _body(message, relay.settings.max_body_bytes)
        if isinstance(body, RelayError):
            return True, _refused(body, context)
        key = message_cache_key(body, message.message_id)
        answer = await relay.answer(body, replace(context, default_cache_key=key))
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


def _context(message: PubSubMessage, item: BulkItemAttributes | None) -> Context:
    request_id = message.attributes.get("request_id")
    if not (isinstance(request_id, str) and REQUEST_ID.match(request_id)):
        request_id = f"pubsub-{message.message_id}"[:128]  # absent, or not the contract's shape
    fields: dict[str, Any] = {"source": "pubsub", "pubsub_message_id": message.message_id[:128]}
    if message.delivery_attempt is not None:
        fields["pubsub_delivery_attempt"] = message.delivery_attempt
    if message.pushed_by is not None:
        fields["pushed_by"] = message.pushed_by
    return Context(
        log_fields=fields,
        request_id=request_id,
        # Nobody reads an event's answer as it arrives: a `stream: true` payload runs plainly.
        allow_stream=False,
        trace=message.trace,
        identity=Identity(
            caller=message.pushed_by,
            source="bulk" if item else "pubsub",
            bulk=item[0] if item else None,
        ),
    )


def _body(message: PubSubMessage, limit: int) -> bytes | RelayError:
    """The payload, or why it may not run: MAX_BODY_BYTES holds for events as for HTTP."""
    body = message.data
    if isinstance(body, bytes) and len(body) > limit:
        return PayloadTooLarge(
            f"message data is {len(body)} bytes, over the {limit} byte limit (MAX_BODY_BYTES)"
        )
    return body


def _refused(error: RelayError, context: Context) -> dict[str, Any]:
    """A message refused before it ran: logged, acknowledged, and delivered as an error."""
    log(
        "ERROR",
        f"{error.message}; acknowledged",
        outcome=error.type,
        **context.log_fields,
    )
    return {"ok": False, "request_id": context.request_id, "error": error.to_dict()}
