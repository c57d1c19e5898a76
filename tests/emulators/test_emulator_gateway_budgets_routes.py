"""The gateway emulator's spend limits, policies, scanner credits, service tiers and dynamic
routes, over HTTP as the function meets them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from emulators.gateway import GatewayEmulator


def post(
    gateway: GatewayEmulator, path: str, body: dict[str, Any], fault: str | None = None
) -> httpx.Response:
    metadata = {"nonce": uuid.uuid4().hex}
    if fault is not None:
        metadata["emulator_fault"] = fault
    headers = {
        "cf-aig-authorization": f"Bearer {gateway.token}",
        "cf-aig-metadata": json.dumps(metadata),
    }
    base = gateway.base_url().removesuffix("/openai")
    return httpx.post(f"{base}/{path}", json=body, headers=headers, timeout=10)


CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
RESPONSES = {"model": "gpt-4o-mini", "input": "hi"}


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        ("budget", 429, "Spending limit exceeded"),
        ("policy", 403, "Access denied by policy"),
    ],
)
def test_spend_limit_and_policy_bodies(
    gateway: GatewayEmulator, fault: str, status: int, message: str
) -> None:
    """The gateway's own `{"success": false, "error": {...}}` shape, with no code."""
    response = post(gateway, "openai/responses", RESPONSES, fault)
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert body["error"]["message"] == message
    if fault == "budget":
        assert {"bucket", "spent", "limit"} <= set(body["error"])


def test_scanner_out_of_credits(gateway: GatewayEmulator) -> None:
    response = post(gateway, "openai/chat/completions", CHAT, "gw2021")
    assert response.status_code == 402
    assert response.json()["internalCode"] == 2021


def test_flex_without_capacity(gateway: GatewayEmulator) -> None:
    response = post(gateway, "openai/responses", {**RESPONSES, "service_tier": "flex"}, "flex429")
    assert response.status_code == 429
    assert "Resource Unavailable" in response.json()["error"]["message"]


TIERS = [
    (None, "default"),
    ("auto", "default"),
    ("default", "default"),
    ("flex", "flex"),
    ("priority", "priority"),
]
ENDPOINTS = [("openai/responses", RESPONSES), ("openai/chat/completions", CHAT)]


@pytest.mark.parametrize(("asked", "served"), TIERS)
@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
def test_answers_report_the_served_tier(
    gateway: GatewayEmulator, path: str, body: dict[str, Any], asked: str | None, served: str
) -> None:
    request = body if asked is None else {**body, "service_tier": asked}
    response = post(gateway, path, request)
    assert response.status_code == 200, response.text
    assert response.json()["service_tier"] == served


def test_unknown_tier_is_openais_400(gateway: GatewayEmulator) -> None:
    response = post(gateway, "openai/responses", {**RESPONSES, "service_tier": "cheap"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "service_tier"


def test_dynamic_route_says_what_it_chose(gateway: GatewayEmulator) -> None:
    """`dynamic/<route>` on the unified endpoint answers with the route's step headers."""
    response = post(gateway, "compat/chat/completions", {**CHAT, "model": "dynamic/support"})
    assert response.status_code == 200, response.text
    headers = response.headers
    assert (headers["cf-aig-step"], headers["cf-aig-model"], headers["cf-aig-provider"]) == (
        "0",
        "gpt-4o-mini",
        "openai",
    )
    assert response.json()["model"].startswith("gpt-4o-mini")


def test_dynamic_route_fallback_step_from_suffixes(gateway: GatewayEmulator) -> None:
    """Suffixes replace the route's headers (a fallback step answered), never duplicate them."""
    body = {**CHAT, "model": "dynamic/support"}
    response = post(gateway, "compat/chat/completions", body, "ok@step=1@model=gpt-4.1-nano")
    assert response.status_code == 200
    assert response.headers.get_list("cf-aig-step") == ["1"]
    assert response.headers["cf-aig-model"] == "gpt-4.1-nano"


@pytest.mark.parametrize(
    ("model", "status"), [("dynamic/unknown-route", 404), ("gpt-4o-mini", 400)]
)
def test_compat_serves_known_routes_only(gateway: GatewayEmulator, model: str, status: int) -> None:
    response = post(gateway, "compat/chat/completions", {**CHAT, "model": model})
    assert response.status_code == status
    assert response.json()["success"] is False
