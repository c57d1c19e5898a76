"""Bulk items in the event path (docs/bulk.md): messages with `bulk_id`, `custom_id` and
`bulk_output` attributes, each run once and written as its own output object; a dead-lettered
item is written as its final error line.

A message is an item only when bulk runs are on (BULK_TOPIC) and its run's manifest lists it
(`_gate.py`); any other message with those attributes is acknowledged, logged and writes
nothing. Its two Cloud Storage calls go over httpx (`_rest.py`); once written, the run is
counted within CHECK_SECONDS (`_finish.py`), so the last item finishes the run.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import RelayError, UpstreamError
from ..logs import log
from ..outcome import Context
from ..request import REQUEST_ID
from ._finish import RunFinisher, completion_publisher
from ._gate import ItemGate
from ._lines import output_line
from ._rest import GoogleRest
from ._runs import BulkRuns, item_metadata
from ._store import BulkStore, GsPath

if TYPE_CHECKING:
    from ..service import Relay

__all__ = [
    "DEAD_LETTER_COUNT",
    "BulkItemAttributes",
    "bulk_attributes",
    "dead_letter_deliveries",
    "finish_dead_lettered",
    "run_bulk_item",
    "shared_store",
]

# Pub/Sub adds this attribute (with the source subscription's) when it forwards a message to a
# dead-letter topic; the emulator does the same.
DEAD_LETTER_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"

_store: BulkStore | None = None
_items: _Items | None = None
_JSON = "application/json"


def shared_store(relay: Relay) -> BulkStore:
    """The process-wide BulkStore, built on first use."""
    global _store
    if _store is None:
        _store = BulkStore(relay.settings.project)
    return _store


class _Items:
    """What items share in a process: REST calls, the manifests checked, the runs' counts."""

    def __init__(self, relay: Relay) -> None:
        self.rest = GoogleRest()
        self.gate = ItemGate(shared_store(relay))
        runs = BulkRuns(shared_store(relay), relay.settings)
        topic = relay.settings.results_topic
        announce = completion_publisher(topic, self.rest) if topic else None
        self.finisher = RunFinisher(shared_store(relay), runs.status, announce)


def _shared(relay: Relay) -> _Items:
    global _items
    if _items is None:
        _items = _Items(relay)
    return _items


async def _refused(relay: Relay, item: BulkItemAttributes, fields: dict[str, Any]) -> bool:
    """True (and logged) when this message may not run as an item: acknowledged, nothing
    written."""
    bulk_id, custom_id, output = item
    why: str | None = "bulk runs are off here (BULK_TOPIC is not set)"
    if relay.settings.bulk_topic is not None:
        gate = _shared(relay).gate
        buckets = relay.settings.bulk_buckets
        try:
            # A run's manifest kept: checked here, without a worker thread's round trip.
            why = gate.refusal(bulk_id, custom_id, output, buckets, read=False)
        except LookupError:
            why = await asyncio.to_thread(gate.refusal, bulk_id, custom_id, output, buckets)
        if why is None:
            return False
    log("WARNING", f"bulk attributes ignored: {why}", event="bulk_item_refused", **fields)
    return True


BulkItemAttributes = tuple[str, str, GsPath]


def bulk_attributes(attributes: Any) -> BulkItemAttributes | None:
    """(bulk id, custom id, output folder) when a message is a bulk item, else None."""
    if not isinstance(attributes, dict):
        return None
    bulk_id, custom_id, output = (
        attributes.get(k) for k in ("bulk_id", "custom_id", "bulk_output")
    )
    if not (isinstance(bulk_id, str) and isinstance(custom_id, str) and isinstance(output, str)):
        return None
    if not REQUEST_ID.match(custom_id) or custom_id.startswith("_bulk"):
        return None
    try:
        return bulk_id, custom_id, GsPath.parse(output, "bulk_output", folder=True)
    except RelayError:
        return None


async def run_bulk_item(
    relay: Relay, body: bytes | RelayError, item: BulkItemAttributes, context: Context
) -> bool:
    """Run one item and write its outcome once; True when finished (written, or found written),
    False for a retryable failure (Pub/Sub redelivers)."""
    bulk_id, custom_id, output = item
    target = output.child(f"{custom_id}.json")
    fields = {"bulk_id": bulk_id, "custom_id": custom_id, **context.log_fields}
    if await _refused(relay, item, fields):
        return True
    shared = _shared(relay)
    if await shared.rest.exists(target):
        # A redelivery after success: neither run (billed) nor written again.
        log("INFO", "bulk item already finished; not run again", **fields)
        return True
    if tier := shared.gate.service_tier(output):
        context = replace(context, default_service_tier=tier)
    if isinstance(body, RelayError):
        answer = relay.reject(body, context)  # a message refused before it could run
    else:
        answer = await relay.answer(body, context)
    if answer.error is not None and answer.error.retryable:
        log("WARNING", "bulk item failed transiently; Pub/Sub redelivers it", **fields)
        return False
    outcome = answer.body
    line = output_line(custom_id, outcome)
    written = await shared.rest.create(target, line, _JSON, item_metadata(outcome))
    log(
        "INFO",
        "bulk item finished" if written else "bulk item was written by another delivery",
        ok=bool(outcome.get("ok")),
        **fields,
    )
    if written:
        await shared.finisher.item_written(output)
    return True


def dead_letter_deliveries(attributes: Any) -> str | None:
    """How many deliveries Pub/Sub made before it dead-lettered this message; None when the
    message is not a dead letter."""
    if not isinstance(attributes, dict):
        return None
    count = attributes.get(DEAD_LETTER_COUNT)
    return count[:20] if isinstance(count, str) else None


async def finish_dead_lettered(
    relay: Relay, item: BulkItemAttributes, deliveries: str, context: Context
) -> bool:
    """A bulk item Pub/Sub gave up on: written as its final error line (counted as
    dead-lettered), never run again. True when finished (written, or found written)."""
    bulk_id, custom_id, output = item
    fields = {"bulk_id": bulk_id, "custom_id": custom_id, **context.log_fields}
    if await _refused(relay, item, fields):
        return True
    error = UpstreamError(
        f"dead-lettered: Pub/Sub gave up after {deliveries} deliveries that each failed "
        "retryably (rate limit, upstream failure, timeout or crash; the log lines with this "
        "request_id say which); submit it again in a new run to retry"
    ).to_dict()
    outcome = {"ok": False, "request_id": custom_id, "error": error}
    shared = _shared(relay)
    written = await shared.rest.create(
        output.child(f"{custom_id}.json"),
        output_line(custom_id, outcome),
        _JSON,
        item_metadata(outcome, dead_lettered=True),
    )
    log(
        "ERROR" if written else "INFO",
        "bulk item dead-lettered; written as an error line"
        if written
        else "dead-lettered bulk item was already finished; left as it is",
        event="bulk_dead_lettered",
        deliveries=deliveries,
        **fields,
    )
    if written:
        await shared.finisher.item_written(output)
    return True
