"""Which calls deliver their outcome, and the process-wide Deliverer (docs/delivery.md)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from relay import Answer, Settings
from relay.delivery import Deliverer, Source, deliver_stream

__all__ = ["PendingOutcomes", "deliver_http", "get_deliverer"]

# Finished outcomes whose delivery failed, kept so a redelivery does not run (and bill) again.
DEFAULT_PENDING = 1_000

_deliverer: Deliverer | None = None


def get_deliverer(settings: Settings) -> Deliverer | None:
    """The shared Deliverer, or None when no sink is configured."""
    global _deliverer
    if not (settings.results_topic or settings.results_bucket):
        return None
    if _deliverer is None:
        _deliverer = Deliverer.from_settings(settings)
    return _deliverer


async def deliver_http(answer: Answer, headers: Mapping[str, str], settings: Settings) -> Answer:
    """Deliver an HTTP call's answer when its body asked to, or a scheduler job did not opt out."""
    job = headers.get("x-cloudscheduler-jobname") or None
    flag = answer.deliver
    if not (flag is True or (job is not None and flag is not False)):
        return answer
    deliverer = get_deliverer(settings)
    if deliverer is None:
        return answer  # no sink configured: nothing is delivered, so no `delivery` field
    source: Source = "scheduler" if job else "http"
    job = job[:500] if job else None

    async def deliver(outcome: dict[str, Any]) -> list[dict[str, Any]]:
        return await deliverer.deliver(outcome, source, scheduler_job=job)

    if answer.events is not None:
        return replace(answer, events=deliver_stream(answer.events, deliver))
    answer.body["delivery"] = await deliver(answer.body)
    return answer


@dataclass(frozen=True, slots=True)
class Pending:
    """A finished outcome and the sinks that have not taken it yet."""

    outcome: dict[str, Any]
    sinks: frozenset[str]


class PendingOutcomes:
    """Message id -> finished-but-undelivered outcome, oldest forgotten first."""

    def __init__(self, remembered: int = DEFAULT_PENDING) -> None:
        self._items: OrderedDict[str, Pending] = OrderedDict()
        self._remembered = remembered

    def pop(self, message_id: str) -> Pending | None:
        return self._items.pop(message_id, None)

    def put(self, message_id: str, pending: Pending) -> None:
        self._items[message_id] = pending
        while len(self._items) > self._remembered:
            self._items.popitem(last=False)
