"""Delivery (docs/delivery.md): a finished outcome written to the result sinks.

Loaded on the first delivery only, and the sinks' Google client libraries on their first send:
a deployment without sinks never imports them. `Deliverer` retries each sink within one deadline;
`PubSubSink` and `GcsSink` are one attempt each.
"""

from ._deliverer import DELIVERY_ATTEMPTS, Deliverer, Source, deliver_stream
from ._sinks import GcsSink, PubSubSink, Sink, is_permanent

__all__ = [
    "DELIVERY_ATTEMPTS",
    "Deliverer",
    "GcsSink",
    "PubSubSink",
    "Sink",
    "Source",
    "deliver_stream",
    "is_permanent",
]
