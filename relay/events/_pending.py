"""Finished outcomes whose delivery failed, kept so that a redelivery only delivers them."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_PENDING", "Pending", "PendingOutcomes"]

# Outcomes kept at most (oldest forgotten first); a forgotten one is run again on redelivery,
# answered from the gateway's cache when the cache still holds it.
DEFAULT_PENDING = 1_000


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
