"""Dynamic routes and service tiers, as the gateway emulator plays them.

Dynamic routes (Cloudflare's ``features/dynamic-routing/usage``): the model ``dynamic/<route>``
is called through the gateway's unified endpoint ``/v1/{account}/{gateway}/compat/chat/completions``
(Chat Completions only). Every route the emulator knows answers as its first step chose
``ROUTE_MODEL`` from ``ROUTE_PROVIDER``, saying so in ``cf-aig-step``, ``cf-aig-model`` and
``cf-aig-provider`` (fault-script suffixes ``@step``, ``@model``, ``@provider`` override them, to
play a route's fallback step). A route named ``unknown-...`` does not exist (the gateway's 404);
a model that is not a route is a 400 (the emulator serves routes only on this endpoint).

Service tiers (OpenAI's ``service_tier``): ``auto``, ``default``, ``flex``, ``priority`` are
accepted; the answer reports the tier that served it (``auto`` is served by ``default``); any
other value is OpenAI's 400.
"""

from __future__ import annotations

import re
from typing import Any

from emulators.gateway._errors import JsonObject, gateway_error, openai_error

__all__ = [
    "COMPAT_ROUTE",
    "ROUTE_MODEL",
    "ROUTE_PROVIDER",
    "resolve_route",
    "served_tier",
    "tier_error",
]

COMPAT_ROUTE = re.compile(r"/v1/[^/]+/[^/]+/compat/chat/completions")
ROUTE_MODEL = "gpt-4o-mini"
ROUTE_PROVIDER = "openai"
_ROUTE_NAME = re.compile(r"dynamic/([A-Za-z0-9_-]{1,64})")
_TIERS = ("auto", "default", "flex", "priority")
# Not documented codes: the emulator's own, for a route that does not exist or a model that is
# not a route on the unified endpoint.
ROUTE_NOT_FOUND_CODE = 2998
NOT_A_ROUTE_CODE = 2997


def resolve_route(body: Any) -> tuple[int, JsonObject] | tuple[JsonObject, list[tuple[str, str]]]:
    """(the body with the route's model, the route's response headers), or (status, error)."""
    model = body.get("model") if isinstance(body, dict) else None
    match = _ROUTE_NAME.fullmatch(model) if isinstance(model, str) else None
    if match is None or not isinstance(body, dict):
        message = "the emulator serves only dynamic/<route> models on /compat"
        return 400, gateway_error(400, NOT_A_ROUTE_CODE, message)
    if match.group(1).startswith("unknown-"):
        message = f"dynamic route {match.group(1)!r} not found"
        return 404, gateway_error(404, ROUTE_NOT_FOUND_CODE, message)
    headers = [
        ("cf-aig-step", "0"),
        ("cf-aig-model", ROUTE_MODEL),
        ("cf-aig-provider", ROUTE_PROVIDER),
    ]
    return {**body, "model": ROUTE_MODEL}, headers


def tier_error(body: Any) -> JsonObject | None:
    """OpenAI's 400 for a `service_tier` it does not know, else None."""
    tier = body.get("service_tier") if isinstance(body, dict) else None
    if tier is None or tier in _TIERS:
        return None
    return openai_error(
        f"Invalid value: '{str(tier)[:40]}'. Supported values are: 'auto', 'default', 'flex', "
        "and 'priority'.",
        "invalid_request_error",
        "service_tier",
        "invalid_value",
    )


def served_tier(body: Any) -> str:
    """The tier an answer reports: the one asked for, `default` for `auto` or none."""
    tier = body.get("service_tier") if isinstance(body, dict) else None
    return tier if tier in ("flex", "priority") else "default"
