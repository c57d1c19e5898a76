"""The gateway's own controls and signals, over real sockets: request fields and settings become
cf-aig-* headers, every attempt carries a request timeout inside the budget, response headers reach
`result.gateway`, guardrail and DLP blocks are `content_blocked`. The gateway emulator checks every
header it is sent (tests/process/test_gateway_trace.py: the caller's trace)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from relay.streaming import SSEParser
from tests.support.calls import event_server, pubsub_data, send
from tests.support.servers import ServerFactory
from tests.support.upstream import nonce, tagged, upstream

CONTROL_HEADERS = (
    "cf-aig-collect-log",
    "cf-aig-collect-log-payload",
    "cf-aig-zdr",
    "cf-aig-byok-alias",
)
BLOCK_CODES = ["2016", "2017", "2029", "2030"]


def stream_events(response: httpx.Response) -> list[tuple[str, Any]]:
    parser = SSEParser()
    events = parser.feed(response.content) + parser.close()
    return [(event.name, json.loads(event.data)) for event in events]


# --- request fields and settings -> headers ------------------------------------------------------


def test_each_control_becomes_its_header(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    """log, zdr and byok_alias reach the gateway as the documented headers and values."""
    tag = nonce()
    body = {
        "prompt": "hello",
        "log": {"collect": True, "payload": False},
        "zdr": True,
        "byok_alias": "team.a-1",
    }
    response = serve().post(tagged(body, tag))
    assert response.status_code == 200, response.text
    headers = upstream(gateway, tag)[0].headers
    assert {name: headers.get(name) for name in CONTROL_HEADERS} == {
        "cf-aig-collect-log": "true",
        "cf-aig-collect-log-payload": "false",
        "cf-aig-zdr": "true",
        "cf-aig-byok-alias": "team.a-1",
    }


def test_no_control_no_header(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    """Without the fields (and without settings) the gateway's own defaults apply: no header."""
    tag = nonce()
    assert serve().post(tagged({"prompt": "hello"}, tag)).status_code == 200
    headers = upstream(gateway, tag)[0].headers
    assert not set(CONTROL_HEADERS) & set(headers)


def test_settings_give_defaults_and_the_request_wins(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """GATEWAY_* settings apply when the body is silent; a body field beats them."""
    server = serve(
        GATEWAY_COLLECT_LOG="true",
        GATEWAY_COLLECT_LOG_PAYLOAD="false",
        GATEWAY_ZDR="true",
        GATEWAY_BYOK_ALIAS="shared-key",
    )
    quiet, loud = nonce(), nonce()
    assert server.post(tagged({"prompt": "hi"}, quiet)).status_code == 200
    own = {"prompt": "hi", "log": {"payload": True}, "zdr": False, "byok_alias": "mine"}
    assert server.post(tagged(own, loud)).status_code == 200
    defaults = upstream(gateway, quiet)[0].headers
    assert [defaults.get(name) for name in CONTROL_HEADERS] == [
        "true",
        "false",
        "true",
        "shared-key",
    ]
    chosen = upstream(gateway, loud)[0].headers
    assert [chosen.get(name) for name in CONTROL_HEADERS] == ["true", "true", "false", "mine"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"byok_alias": "has space"}, "byok_alias"),
        ({"byok_alias": "a" * 65}, "byok_alias"),
        ({"byok_alias": "line\nbreak"}, "byok_alias"),
        ({"byok_alias": ""}, "byok_alias"),
        ({"zdr": "true"}, "zdr"),
        ({"log": {"collect": "yes"}}, "log.collect"),
        ({"log": {"colect": True}}, "colect"),
        ({"log": True}, "log"),
    ],
)
def test_bad_control_fields_are_400(
    serve: ServerFactory, gateway: GatewayEmulator, extra: dict[str, Any], field: str
) -> None:
    """A wrong control field is invalid_request naming it, and nothing goes upstream."""
    before = gateway.stats()["requests"]
    response = serve().post({"prompt": "hi", **extra})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert field in error["message"]
    assert "\n" not in error["message"]
    assert gateway.stats()["requests"] == before


# --- request timeout ----------------------------------------------------------------------------


def test_request_timeout_fits_the_budget_on_every_attempt(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """Each attempt says how long the gateway may wait: whole ms, within what is left."""
    tag = nonce()
    server = serve(UPSTREAM_TIMEOUT_SECONDS="20")
    response = server.post(tagged({"prompt": "hi"}, tag, fault="500,ok"))
    assert response.status_code == 200, response.text
    assert response.json()["attempts"] == 2
    first, second = (int(r.headers["cf-aig-request-timeout"]) for r in upstream(gateway, tag))
    assert 0 < first <= 20_000
    # The retry waited at least 375 ms (0.5 s backoff, jitter takes off at most a quarter).
    assert 0 < second <= first - 375


# --- response headers -> result.gateway ---------------------------------------------------------

ROUTED = "ok@step=1@model=gpt-4o-mini-2024-07-18@provider=openai@dlp=flag"
DLP_FLAG = {
    "action": "FLAG",
    "findings": [
        {
            "profile": {"id": "emulator-profile", "entry_ids": ["emulator-entry"]},
            "policy_ids": ["emulator-policy"],
            "check": "REQUEST",
        }
    ],
}


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_routing_and_dlp_headers_reach_the_result(serve: ServerFactory, api: str) -> None:
    """cf-aig-step/-model/-provider and a FLAG cf-aig-dlp verdict land in result.gateway."""
    response = serve().post(tagged({"prompt": "hi", "api": api}, nonce(), fault=ROUTED))
    assert response.status_code == 200, response.text
    gateway = response.json()["gateway"]
    assert gateway["step"] == "1"
    assert gateway["model"] == "gpt-4o-mini-2024-07-18"
    assert gateway["provider"] == "openai"
    assert gateway["dlp"] == DLP_FLAG
    assert gateway["log_id"]
    assert gateway["cache_status"] is None  # caching was not asked for


def test_streamed_result_carries_the_same_gateway_fields(serve: ServerFactory) -> None:
    """The stream's `result` event has the same gateway object as a plain answer."""
    body = tagged({"prompt": "hi there", "stream": True}, nonce(), fault=ROUTED)
    response = serve().post(body)
    assert response.status_code == 200, response.text
    events = stream_events(response)
    name, result = events[-1]
    assert name == "result"
    assert result["gateway"]["dlp"] == DLP_FLAG
    assert (result["gateway"]["step"], result["gateway"]["provider"]) == ("1", "openai")


def test_dlp_header_that_is_not_json_is_text(serve: ServerFactory) -> None:
    response = serve().post(tagged({"prompt": "hi"}, nonce(), fault="ok@dlp=text"))
    assert response.status_code == 200, response.text
    assert response.json()["gateway"]["dlp"] == "flagged (not JSON)"


def test_plain_answer_has_null_signals(serve: ServerFactory) -> None:
    response = serve().post({"prompt": "hi"})
    gateway = response.json()["gateway"]
    assert [gateway[k] for k in ("step", "model", "provider", "dlp")] == [None] * 4


# --- guardrail and DLP blocks -------------------------------------------------------------------


@pytest.mark.parametrize("code", BLOCK_CODES)
@pytest.mark.parametrize("stream", [False, True])
def test_blocks_are_content_blocked(
    serve: ServerFactory, gateway: GatewayEmulator, code: str, stream: bool
) -> None:
    """Guardrail and DLP blocks answer 422 content_blocked with the code, after one attempt."""
    tag = nonce()
    body = tagged({"prompt": "hi", "stream": stream}, tag, fault=f"gw{code}")
    response = serve().post(body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["ok"] is False
    error = answer["error"]
    assert error["type"] == "content_blocked"
    assert error["retryable"] is False
    assert error["upstream_code"] == int(code)
    assert error["upstream_status"] in (400, 424)
    assert len(upstream(gateway, tag)) == 1  # the same content would be blocked again


@pytest.mark.parametrize("code", BLOCK_CODES)
def test_blocked_event_is_acknowledged(
    serve: ServerFactory, gateway: GatewayEmulator, code: str
) -> None:
    """content_blocked is permanent: the event is acknowledged, not redelivered."""
    tag = nonce()
    message_id = f"blocked-{tag}"
    data = pubsub_data(tagged({"prompt": "hi"}, tag, fault=f"gw{code}"), message_id)
    server = event_server(serve)
    assert send(server, data).status_code == 200
    line = server.log_for(f"pubsub-{message_id}")
    assert line["outcome"] == "content_blocked"
    assert line["upstream_code"] == int(code)
    assert len(upstream(gateway, tag)) == 1


def test_scanner_outage_is_retried(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    """503 with 7013 (the scanner was down) is no verdict: retried, and the retry succeeds."""
    tag = nonce()
    response = serve().post(tagged({"prompt": "hi"}, tag, fault="gw7013,ok"))
    assert response.status_code == 200, response.text
    assert response.json()["attempts"] == 2
    assert len(upstream(gateway, tag)) == 2


def test_scanner_outage_that_lasts_is_upstream_error(serve: ServerFactory) -> None:
    response = serve(MAX_RETRIES="0").post(tagged({"prompt": "hi"}, nonce(), fault="gw7013"))
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert (error["type"], error["retryable"], error["upstream_code"]) == (
        "upstream_error",
        True,
        7013,
    )
