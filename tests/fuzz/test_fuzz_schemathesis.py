"""Schemathesis against openapi.yaml, over real sockets (see test_fuzz.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeAlias

import httpx
import pytest
import schemathesis
from hypothesis import given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.contract_answers import check_answer
from tests.support.contract_upstream import upstream_during

# Fixture `fuzz` and the autouse payload report:
from tests.support.fuzz_harness import FUZZ, Fuzz, Sent, expect_consistent, explain, fresh
from tests.support.openapi import check_exchange
from tests.support.paths import ROOT

# --- schemathesis against openapi.yaml ------------------------------------------------------------

SCHEMA = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
SchemaCase: TypeAlias = "schemathesis.Case[Any]"
OPERATION = SCHEMA["/"]["POST"]
SCHEMA_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def send_case(
    fuzz: Fuzz, case: SchemaCase, *, fresh_keys: bool = False
) -> tuple[httpx.Response, Sent]:
    """Send a schemathesis case through the fuzz client, so it is counted and checked alike;
    with `fresh_keys` (valid cases), custom cache keys are made unique as `fresh` does, so one
    case is never answered from another API's cached body."""
    kwargs = case.as_transport_kwargs(base_url=fuzz.server.url)
    headers = [(str(k), str(v)) for k, v in kwargs.get("headers", {}).items()]
    if fresh_keys and isinstance(kwargs.get("json"), dict):
        body = fresh(kwargs["json"])
        if isinstance(body.get("requests"), list):
            items = [fresh(i) if isinstance(i, dict) else i for i in body["requests"]]
            body = {**body, "requests": items}
        kwargs["json"] = body
    if "json" in kwargs:
        try:
            content = json.dumps(kwargs["json"], allow_nan=False).encode()
        except ValueError:
            content = json.dumps(kwargs["json"]).encode()
    else:
        data = kwargs.get("data") or b""
        content = data.encode() if isinstance(data, str) else bytes(data)
    with upstream_during(fuzz.gateway) as upstream:
        response = fuzz.client.request(
            kwargs["method"], kwargs["url"], content=content, headers=headers
        )
    fuzz.sent += 1
    check_exchange(response)
    return response, Sent(check_answer(response), upstream.requests)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_openapi(
    fuzz: Fuzz, record_property: Callable[[str, object], None], mode: GenerationMode
) -> None:
    """Schemathesis cases from openapi.yaml: no 5xx, documented answers, upstream only if run."""

    @settings(FUZZ, max_examples=260)
    @given(case=OPERATION.as_strategy(generation_mode=mode))
    def run(case: SchemaCase) -> None:
        with explain(body=case.body, headers=case.headers):
            response, sent = send_case(fuzz, case, fresh_keys=mode is GenerationMode.POSITIVE)
            expect_consistent(fuzz, sent)
            if sent.answer.events:
                # Schemathesis validates each SSE event against the text/event-stream schema,
                # which openapi.yaml gives as the whole body's ({type: string}); check_answer
                # already checked the events against Result / ErrorAnswer.
                return
            case.validate_response(response, checks=SCHEMA_CHECKS)
            batch = isinstance(case.body, dict) and "requests" in case.body
            if mode is GenerationMode.NEGATIVE and not batch:
                assert 400 <= sent.answer.status < 500, sent.answer.body

    record_property("payloads", fuzz.count(run, f"schemathesis_{mode.value}", 250))
