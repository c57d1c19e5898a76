"""The process-wide objects, each built once on first use: the Relay, its event core and the
result Deliverer of HTTP calls."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from relay import ConfigError, Relay, Settings, log

if TYPE_CHECKING:
    from relay.delivery import Deliverer
    from relay.events import EventCore

__all__ = ["check_settings", "get_deliverer", "get_events", "get_relay"]

_relay: Relay | None = None
_events: EventCore | None = None
_deliverer: Deliverer | None = None


def check_settings() -> None:
    """Report a bad setting at start-up, in the log, rather than at the first request only."""
    try:
        Settings.from_env(os.environ)
    except ConfigError as exc:
        log("ERROR", f"configuration error: {exc.message}", event="config_error")


def get_relay() -> Relay:
    """The shared Relay; raises ConfigError while the settings are wrong.

    Built lazily, inside the worker's event loop: the server imports this module before it forks,
    and connection pools and gRPC channels must not cross a fork.
    """
    global _relay
    if _relay is None:
        _relay = Relay.from_env()
    return _relay


def get_events() -> EventCore:
    """The shared event core (de-duplication and kept outcomes are per process)."""
    global _events
    if _events is None:
        # Loaded on the first message: an HTTP-only deployment never imports the event core.
        from relay.events import EventCore

        _events = EventCore(get_relay)
    return _events


def get_deliverer(settings: Settings) -> Deliverer | None:
    """The shared Deliverer, or None when no sink is configured."""
    global _deliverer
    if not (settings.results_topic or settings.results_bucket):
        return None
    if _deliverer is None:
        # Loaded on the first delivery: the Google client libraries cost start-up time.
        from relay.delivery import Deliverer

        _deliverer = Deliverer.from_settings(settings)
    return _deliverer
