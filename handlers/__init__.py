"""Thin adapters from functions-framework's HTTP and CloudEvent calls onto `relay.Relay`.

The event adapter (`handlers.event`) is not imported here: it loads on the first event, so an
HTTP-only deployment's cold start does not pay for it.
"""

from ._logsetup import run_after, setup_logging
from ._runtime import check_settings, get_relay
from .http import handle_http

__all__ = ["check_settings", "get_relay", "handle_http", "run_after", "setup_logging"]
