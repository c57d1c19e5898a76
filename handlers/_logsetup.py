"""JSON logging for the whole process, kept in place after the server sets up its own.

`functions-framework --target=...` imports main.py first, then starts gunicorn with uvicorn
workers. gunicorn's `Logger.setup` (when its arbiter starts, and on SIGHUP) and the uvicorn
worker (which copies gunicorn's handlers, then runs `Config.configure_logging`) each install
plain-text handlers after that import. So logging is configured at import and put back right
after each of those two methods runs. (`--debug` runs `uvicorn.run` without gunicorn; that
local-only mode is not hooked.)
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from relay import ConfigError
from relay.logs import configure_logging, reapply
from relay.settings import DEFAULT_LOG_LEVEL, log_level_from_env

__all__ = ["run_after", "setup_logging"]

_HOOKED = "_relay_json_logging"


def setup_logging(env: Mapping[str, str] | None = None) -> None:
    """Configure JSON logging at LOG_LEVEL and hook it in after the servers' own set-up."""
    try:
        level = log_level_from_env(os.environ if env is None else env)
    except ConfigError:
        level = DEFAULT_LOG_LEVEL  # check_settings() reports the bad value, in JSON
    configure_logging(logging.getLevelNamesMapping()[level])
    run_after("gunicorn.glogging", "Logger", "setup", _after_gunicorn)


def _after_gunicorn() -> None:
    reapply()
    # uvicorn is hooked only now, when the arbiter starts and is about to load its uvicorn
    # worker anyway: importing it with main.py would add ~20 ms to `import main`.
    _hook_uvicorn()


def _hook_uvicorn() -> None:
    run_after("uvicorn.config", "Config", "configure_logging", reapply)


def run_after(module_name: str, class_name: str, method_name: str, then: Callable[[], Any]) -> None:
    """Make `module.Class.method` call `then()` after it returns (once, however often asked)."""
    try:
        owner = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        return  # that server is not installed: nothing of it to hook
    original = getattr(owner, method_name)
    if getattr(original, _HOOKED, False):
        return

    @functools.wraps(original)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        then()
        return result

    setattr(hooked, _HOOKED, True)
    setattr(owner, method_name, hooked)
