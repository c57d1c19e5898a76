"""Pub/Sub messages (docs/triggers.md): the one core behind both event entry points.

`EventCore.handle` takes a `PubSubMessage` and answers a `Disposition`: FINISHED (acknowledge)
or RETRY (let Pub/Sub redeliver). It owns de-duplication by message id, the outcomes kept while
their delivery fails, delivery to the result sinks, bulk items and dead letters. The CloudEvent
adapter reads the message with `message_from_json`; the push adapter with `decode_push`.

Loaded on the first message only: an HTTP-only deployment never imports it.
"""

from ._core import EventCore
from ._dedup import DEFAULT_REMEMBERED, Deduplicator
from ._message import (
    MAX_DATA_BYTES,
    Disposition,
    PubSubMessage,
    message_cache_key,
    message_from_json,
)
from ._pending import DEFAULT_PENDING, Pending, PendingOutcomes
from ._push import MAX_PUSH_BYTES, decode_push

__all__ = [
    "DEFAULT_PENDING",
    "DEFAULT_REMEMBERED",
    "MAX_DATA_BYTES",
    "MAX_PUSH_BYTES",
    "Deduplicator",
    "Disposition",
    "EventCore",
    "Pending",
    "PendingOutcomes",
    "PubSubMessage",
    "decode_push",
    "message_cache_key",
    "message_from_json",
]
