"""The gateway emulator's own endpoints under /_emulator/: stats, recorded requests, reset and
configuration (for tests and benchmarks that drive it from another process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulators.gateway._answers import Answer, json_answer, try_json
from emulators.gateway._http import Request
from emulators.gateway._render import json_bytes

if TYPE_CHECKING:
    from emulators.gateway._emulator import GatewayEmulator

__all__ = ["control"]


def control(emulator: GatewayEmulator, request: Request) -> Answer:
    """Answer a request to the emulator's own /_emulator/ endpoints."""
    route = (request.method, request.path)
    if route == ("GET", "/_emulator/stats"):
        return json_answer(200, emulator.stats())
    if route == ("GET", "/_emulator/requests"):
        return Answer(200, json_bytes([r.to_dict() for r in emulator.requests]))
    if route == ("POST", "/_emulator/reset"):
        emulator.reset()
        return json_answer(200, {"ok": True})
    if route == ("POST", "/_emulator/config"):
        return _configure(emulator, try_json(request.body))
    known = {"/_emulator/stats", "/_emulator/requests", "/_emulator/reset", "/_emulator/config"}
    status = 405 if request.path in known else 404
    return json_answer(status, {"ok": False, "error": f"{request.method} {request.path}"})


def _configure(emulator: GatewayEmulator, config: Any) -> Answer:
    checks: dict[str, Callable[[Any], bool]] = {
        "token": lambda v: isinstance(v, str),
        "openai_key": lambda v: v is None or isinstance(v, str),
        "require_openai_key": lambda v: isinstance(v, bool),
        "delay_ms": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    }
    if not isinstance(config, dict):
        return json_answer(400, {"ok": False, "error": "expected a JSON object"})
    bad = sorted(k for k, v in config.items() if k not in checks or not checks[k](v))
    if bad:
        return json_answer(400, {"ok": False, "error": f"bad or unknown keys: {bad}"})
    for key, value in config.items():
        setattr(emulator, key, value)
    return json_answer(200, {"ok": True})
