"""Thin adapters from functions-framework's calls onto the core: an HTTP request onto
`relay.Relay`, a CloudEvent (`handlers.event`) and a Pub/Sub push (`handlers.push`) onto
`relay.events`; the logging set-up and the process-wide runtime.

The two event adapters are not imported here: they load on the first message, so an HTTP-only
deployment's cold start does not pay for them.
"""

from ._logsetup import run_after, setup_logging
from .http import handle_http
from .runtime import check_settings, get_relay

__all__ = ["check_settings", "get_relay", "handle_http", "run_after", "setup_logging"]
