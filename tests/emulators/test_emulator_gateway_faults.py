"""The AI Gateway stand-in: fault steps.

Over real sockets with ``httpx``; every answer is checked against the ``openai`` package's own
types so the emulator keeps speaking the real wire format.
"""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from openai.types.chat import ChatCompletionChunk

from emulators.gateway import GatewayEmulator
from tests.support.emulators import (
    CHAT,
    RESPONSES,
    chat_body,
    faults,
    fixture,
    responses_body,
)

# === AI Gateway: fault steps =================================================================


@pytest.mark.parametrize(
    ("step", "status", "fixture_name"),
    [
        ("400", 400, "error_400_decimal_below_min_value__responses_recorded.json"),
        ("401", 401, "error_401_invalid_api_key__chat_recorded.json"),
        ("404", 404, "error_404_response_not_found__responses_recorded.json"),
        ("429", 429, "error_429_rate_limit_exceeded__issue_pyrepr.json"),
        ("429q", 429, "error_429_insufficient_quota__issue.json"),
        ("500", 500, "error_500_server_error__issue.json"),
        ("502", 502, "error_500_server_error__issue.json"),
        ("503", 503, "error_500_server_error__issue.json"),
    ],
)
def test_gateway_fault_provider_errors(
    client: httpx.Client, step: str, status: int, fixture_name: str
) -> None:
    answer = client.post(RESPONSES, json=responses_body(), headers=faults(step))
    assert answer.status_code == status
    assert answer.json() == fixture(f"errors/{fixture_name}")
    assert answer.headers["cf-aig-log-id"]


@pytest.mark.parametrize(("step", "status"), [("403", 403), ("422", 422)])
def test_gateway_fault_other_provider_errors(client: httpx.Client, step: str, status: int) -> None:
    answer = client.post(CHAT, json=chat_body(), headers=faults(step))
    assert answer.status_code == status
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("step", "status", "internal"), [("gw401", 401, 2009), ("gw429", 429, 2003)]
)
def test_gateway_fault_gateway_errors(
    client: httpx.Client, step: str, status: int, internal: int
) -> None:
    body = client.post(CHAT, json=chat_body(), headers=faults(step)).json()
    assert body["name"] == "AiGatewayError"
    assert (body["httpCode"], body["internalCode"], body["error"][0]["code"]) == (
        status,
        internal,
        internal,
    )


def test_gateway_fault_retry_headers(client: httpx.Client) -> None:
    answer = client.post(CHAT, json=chat_body(), headers=faults("429@ra=7@xsr=true"))
    assert (answer.headers["retry-after"], answer.headers["x-should-retry"]) == ("7", "true")
    answer = client.post(CHAT, json=chat_body(), headers=faults("503@ram=250@xsr=false"))
    assert answer.status_code == 503
    assert answer.headers["retry-after-ms"] == "250"
    assert answer.headers["x-should-retry"] == "false"
    assert "retry-after" not in answer.headers
    answer = client.post(CHAT, json=chat_body(), headers=faults("429@date=30"))
    when = email.utils.parsedate_to_datetime(answer.headers["retry-after"]).timestamp()
    assert 25 <= when - time.time() <= 31


def test_gateway_fault_script_sequence(gateway: GatewayEmulator, client: httpx.Client) -> None:
    statuses = [
        client.post(CHAT, json=chat_body(), headers=faults("429,ok")).status_code for _ in range(3)
    ]
    assert statuses == [429, 200, 200]
    # A different metadata string (another nonce) has its own attempt counter.
    assert client.post(CHAT, json=chat_body(), headers=faults("429,ok", "n2")).status_code == 429
    gateway.reset()
    assert client.post(CHAT, json=chat_body(), headers=faults("429,ok")).status_code == 429


def test_gateway_fault_answers_are_never_cached(client: httpx.Client) -> None:
    headers = {**faults("500,ok"), "cf-aig-cache-ttl": "60"}
    answers = [client.post(CHAT, json=chat_body(), headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [500, 200, 200]
    assert [a.headers["cf-aig-cache-status"] for a in answers] == ["MISS", "MISS", "HIT"]


def test_gateway_fault_script_errors(client: httpx.Client) -> None:
    for script in ("teapot", "429@ra=soon", "500@zz=1"):
        answer = client.post(CHAT, json=chat_body(), headers=faults(script))
        assert answer.status_code == 400
        assert answer.json()["error"]["type"] == "emulator_error"


def test_gateway_fault_drop(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=chat_body(), headers=faults("drop"))
    assert client.post(CHAT, json=chat_body()).status_code == 200


def test_gateway_fault_stall(client: httpx.Client) -> None:
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            CHAT, json=chat_body(), headers=faults("stall"), timeout=httpx.Timeout(5, read=0.3)
        )
    assert time.monotonic() - started < 2


def test_gateway_fault_notjson_and_badjson(client: httpx.Client) -> None:
    answer = client.post(CHAT, json=chat_body(), headers=faults("notjson"))
    assert (answer.status_code, answer.headers["content-type"]) == (200, "text/html")
    assert answer.text == "<html>502 Bad Gateway</html>"
    answer = client.post(CHAT, json=chat_body(), headers=faults("badjson"))
    assert (answer.status_code, answer.json()) == (200, {"unexpected": True})


def test_gateway_fault_trickle(client: httpx.Client) -> None:
    timeout = httpx.Timeout(5, read=0.1)
    with client.stream(
        "POST", CHAT, json=chat_body(), headers=faults("trickle"), timeout=timeout
    ) as answer:
        assert answer.status_code == 200  # headers came at once
        assert int(answer.headers["content-length"]) > 100
        with pytest.raises(httpx.ReadTimeout):
            answer.read()
    started = time.monotonic()
    headers = faults("trickle", "n2")
    with client.stream("POST", CHAT, json=chat_body(), headers=headers) as answer:
        received = b""
        for piece in answer.iter_raw():
            received += piece
            if len(received) >= 2:
                break
    assert received.startswith(b"{")
    assert time.monotonic() - started >= 0.35  # two bytes, 200 ms apart


def test_gateway_fault_midstream(client: httpx.Client) -> None:
    body = chat_body("a longer answer to cut", stream=True)
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", CHAT, json=body, headers=faults("midstream")) as answer,
    ):
        for line in answer.iter_lines():
            if line.startswith("data: "):
                received.append(line.removeprefix("data: "))
    assert 0 < len(received) < 5
    assert "[DONE]" not in received
    for data in received:
        ChatCompletionChunk.model_validate_json(data)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(RESPONSES, json=responses_body(), headers=faults("midstream", "n2"))
