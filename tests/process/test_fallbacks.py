"""`fallback_models` and gateway dynamic routes over real sockets against the gateway emulator:
the next model after a rate limit, a budget, an upstream failure; never after a block, a
rejection, an auth failure or a policy denial; every model checked up front; `models_tried`,
`attempts` and the answering model's price in the result; dynamic routes on the unified endpoint
with what the route chose in `result.gateway`."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator, RecordedRequest
from relay.cost import call_cost
from relay.streaming import SSEParser
from tests.support.servers import ServerFactory


def tag() -> str:
    return uuid.uuid4().hex[:12]


def faulted(fault: str, nonce: str, **body: Any) -> dict[str, Any]:
    return {"prompt": "hi", "metadata": {"emulator_fault": fault, "nonce": nonce}, **body}


def sent(gateway: GatewayEmulator, nonce: str) -> list[RecordedRequest]:
    return [r for r in gateway.requests if nonce in r.headers.get("cf-aig-metadata", "")]


@pytest.mark.parametrize("fault", ["429,ok", "budget,ok", "503,ok", "gw2021,ok"])
def test_next_model_answers(serve: ServerFactory, gateway: GatewayEmulator, fault: str) -> None:
    """A rate limit, a spend limit, a 5xx (retries used up) or scanner credits: the fallback
    answers, priced as itself; the log line names the fallback taken."""
    nonce, request_id = tag(), f"fb-{tag()}"
    server = serve(MAX_RETRIES="0")
    body = faulted(fault, nonce, request_id=request_id, fallback_models=["gpt-4.1-mini"])
    response = server.post(body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["models_tried"] == ["gpt-4o-mini", "gpt-4.1-mini"]
    assert result["attempts"] == 2
    assert result["model"].startswith("gpt-4.1-mini")
    assert result["cost_usd"] == call_cost(result["usage"], result["model"])
    assert [r.json["model"] for r in sent(gateway, nonce)] == ["gpt-4o-mini", "gpt-4.1-mini"]
    line = server.log_for(request_id)
    assert line["models_tried"] == ["gpt-4o-mini", "gpt-4.1-mini"]
    assert [f["model"] for f in line["fallbacks"]] == ["gpt-4o-mini"]


@pytest.mark.parametrize(
    ("fault", "status", "kind"),
    [
        ("policy,ok", 403, "policy_denied"),
        ("gw2016,ok", 422, "content_blocked"),
        ("400,ok", 400, "upstream_rejected"),
        ("403,ok", 502, "upstream_auth"),
    ],
)
def test_no_fallback_after_a_verdict(
    serve: ServerFactory, gateway: GatewayEmulator, fault: str, status: int, kind: str
) -> None:
    """Failures any model would meet end the request: one model, one attempt."""
    nonce, request_id = tag(), f"nofb-{tag()}"
    server = serve(MAX_RETRIES="0")
    body = faulted(fault, nonce, request_id=request_id, fallback_models=["gpt-4.1-mini"])
    response = server.post(body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == kind
    assert len(sent(gateway, nonce)) == 1
    line = server.log_for(request_id)
    assert (line["models_tried"], line["attempts"]) == (["gpt-4o-mini"], 1)
    assert "fallbacks" not in line


def test_every_fallback_failing_ends_with_the_last_error(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    nonce, request_id = tag(), f"allfb-{tag()}"
    server = serve(MAX_RETRIES="0")
    fallbacks = ["gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o"]
    response = server.post(faulted("429", nonce, request_id=request_id, fallback_models=fallbacks))
    assert response.status_code == 429, response.text
    assert response.json()["error"]["type"] == "rate_limited"
    assert len(sent(gateway, nonce)) == 4
    line = server.log_for(request_id)
    assert line["models_tried"] == ["gpt-4o-mini", *fallbacks]
    assert line["attempts"] == 4
    assert len(line["fallbacks"]) == 3


def test_fallbacks_are_checked_against_the_allow_list_up_front(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    nonce = tag()
    server = serve(ALLOWED_MODELS="gpt-4o-mini,gpt-4.1-mini")
    response = server.post(faulted("ok", nonce, fallback_models=["gpt-4.1-mini", "gpt-4o"]))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "model_not_allowed"
    assert "fallback_models[1]" in error["message"]
    assert sent(gateway, nonce) == []


@pytest.mark.parametrize("fallbacks", [[], ["a", "b", "c", "d"], [""]])
def test_fallback_models_shape(serve: ServerFactory, fallbacks: list[str]) -> None:
    response = serve().post({"prompt": "hi", "fallback_models": fallbacks})
    assert response.status_code == 400, response.text
    assert "fallback_models" in response.json()["error"]["message"]


def test_one_model_tried(serve: ServerFactory) -> None:
    response = serve().post({"prompt": "hi", "model": "gpt-4.1-nano"})
    assert response.json()["models_tried"] == ["gpt-4.1-nano"]


def test_stream_falls_back_before_its_first_byte(serve: ServerFactory) -> None:
    body = faulted("429,ok", tag(), stream=True, fallback_models=["gpt-4.1-mini"])
    response = serve(MAX_RETRIES="0").post(body)
    assert response.status_code == 200, response.text
    parser = SSEParser()
    events = parser.feed(response.content) + parser.close()
    (result,) = [json.loads(e.data) for e in events if e.name == "result"]
    assert result["models_tried"] == ["gpt-4o-mini", "gpt-4.1-mini"]
    assert result["attempts"] == 2


# --- dynamic routes -------------------------------------------------------------------------


def test_dynamic_route_reaches_the_unified_endpoint(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """`dynamic/<route>` goes to /compat/chat/completions beside the configured /openai, without
    our provider key (the route's providers use the gateway's stored keys); the result says what
    the route chose."""
    nonce = tag()
    response = serve().post({"prompt": "hi", "model": "dynamic/support", "metadata": {"n": nonce}})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["api"] == "chat"
    assert result["models_tried"] == ["dynamic/support"]
    gateway_fields = result["gateway"]
    assert (gateway_fields["step"], gateway_fields["model"], gateway_fields["provider"]) == (
        "0",
        "gpt-4o-mini",
        "openai",
    )
    (request,) = sent(gateway, nonce)
    assert re.fullmatch(r"/v1/test-account/test-gateway/compat/chat/completions", request.path)
    assert "authorization" not in request.headers
    assert request.json["model"] == "dynamic/support"


def test_dynamic_route_as_a_fallback(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    nonce = tag()
    body = faulted("429,ok", nonce, fallback_models=["dynamic/support"])
    response = serve(MAX_RETRIES="0").post(body)
    assert response.status_code == 200, response.text
    paths = [r.path for r in sent(gateway, nonce)]
    assert paths[0].endswith("/openai/responses") and paths[1].endswith("/compat/chat/completions")
    assert response.json()["gateway"]["step"] == "0"


def test_dynamic_route_takes_chat_only(serve: ServerFactory) -> None:
    response = serve().post({"prompt": "hi", "model": "dynamic/support", "api": "responses"})
    assert response.status_code == 400, response.text
    assert "dynamic route" in response.json()["error"]["message"]
