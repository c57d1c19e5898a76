"""The gateway emulator checks the cf-aig-* control headers it is sent: malformed values are a
400 naming the header, well-formed ones pass."""

from __future__ import annotations

import httpx
import pytest

from emulators.gateway import INVALID_CONTROL_CODE, GatewayEmulator
from tests.support.emulators import TOKEN

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cf-aig-request-timeout", "0"),
        ("cf-aig-request-timeout", "1.5"),
        ("cf-aig-request-timeout", "-3"),
        ("cf-aig-collect-log", "yes"),
        ("cf-aig-collect-log-payload", "TRUE"),
        ("cf-aig-zdr", "1"),
        ("cf-aig-byok-alias", "a b"),
        ("cf-aig-otel-trace-id", TRACE_ID[:31]),
        ("cf-aig-otel-parent-span-id", SPAN_ID),  # without a trace id
    ],
)
def test_emulator_refuses_malformed_controls(
    gateway: GatewayEmulator, name: str, value: str
) -> None:
    headers = {"cf-aig-authorization": f"Bearer {TOKEN}", name: value}
    body = {"model": "gpt-4o-mini", "input": "hi"}
    answer = httpx.post(gateway.base_url() + "/responses", json=body, headers=headers)
    assert answer.status_code == 400
    error = answer.json()
    assert error["internalCode"] == INVALID_CONTROL_CODE
    assert name in error["error"][0]["message"]


def test_emulator_accepts_well_formed_controls(gateway: GatewayEmulator) -> None:
    headers = {
        "cf-aig-authorization": f"Bearer {TOKEN}",
        "cf-aig-request-timeout": "30000",
        "cf-aig-collect-log": "false",
        "cf-aig-collect-log-payload": "true",
        "cf-aig-zdr": "true",
        "cf-aig-byok-alias": "prod.key-2",
        "cf-aig-otel-trace-id": TRACE_ID,
        "cf-aig-otel-parent-span-id": SPAN_ID,
    }
    body = {"model": "gpt-4o-mini", "input": "hi"}
    answer = httpx.post(gateway.base_url() + "/responses", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "cf-aig-cache-status" not in answer.headers


def test_emulator_survives_a_part_type_that_is_a_list(gateway: GatewayEmulator) -> None:
    """A content part whose `type` is not a string is ignored, not a crash of the connection."""
    parts = [{"type": []}, {"type": "input_text", "text": "still here"}]
    body = {"model": "gpt-4o-mini", "input": [{"role": "user", "content": parts}]}
    headers = {"cf-aig-authorization": f"Bearer {TOKEN}"}
    answer = httpx.post(gateway.base_url() + "/responses", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"][0]["content"][0]["text"] == "Echo: still here"
