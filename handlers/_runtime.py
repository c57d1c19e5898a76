"""The process-wide Relay, built once from the environment on first use, and its event core."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from relay import ConfigError, Relay, Settings, log

if TYPE_CHECKING:
    from relay.events import EventCore

__all__ = ["check_settings", "get_events", "get_relay"]

_relay: Relay | None = None
_events: EventCore | None = None


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
