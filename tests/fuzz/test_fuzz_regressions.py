"""Bugs found by the fuzzing, each one a plain, failing, deterministic case (see test_fuzz.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.contract_upstream import upstream_during

# Fixture `fuzz` and the autouse payload report:
from tests.support.fuzz_harness import COUNTS, Fuzz, expect_refused

# --- bugs found by the fuzzing (each one a plain, failing, deterministic case) -----------------


@pytest.mark.parametrize("method", ["PROPFIND", "TRACE", "FOO", "QUERY", "PURGE"])
def test_unrouted_methods_are_refused_by_the_framework(fuzz: Fuzz, method: str) -> None:
    """Methods functions-framework does not route never reach the function (nor upstream): the
    framework answers its own plain-text 405, or the HTTP parser (httptools) a 400 for a method
    it does not know (documented in the README as a known limit)."""
    with upstream_during(fuzz.gateway) as upstream:
        response = fuzz.client.request(method, fuzz.server.url, content=b"{}")
    COUNTS["unrouted_methods"] += 1
    assert response.status_code in (400, 405)
    if response.status_code == 405:
        assert "POST" in response.headers.get("allow", "")
    assert not upstream.requests


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"prompt": "x", "cache": {"key": "abc\n"}}, "cache"),
        ({"prompt": "x", "request_id": "abc\n"}, "request_id"),
        ({"prompt": "x", "json_schema": {"name": "n\n", "schema": {}}}, "json_schema"),
        ({"prompt": "x", "tools": [{"name": "f\n", "parameters": {}}]}, "tools"),
    ],
    ids=["cache.key", "request_id", "json_schema.name", "tools.name"],
)
def test_pattern_fields_refuse_a_trailing_newline(
    fuzz: Fuzz, payload: dict[str, Any], field: str
) -> None:
    """A pattern-bound field ending in a line feed is refused as invalid_request before upstream."""
    sent = fuzz.post_json(payload)
    COUNTS["trailing_newline"] += 1
    expect_refused(sent, names=field)


@pytest.mark.parametrize("key", [" x", "x ", " "])
def test_cache_key_with_edge_spaces_is_not_an_upstream_error(fuzz: Fuzz, key: str) -> None:
    """A cache.key with an edge space runs or is refused, never a retried upstream_error."""
    sent = fuzz.post_json({"prompt": "x", "cache": {"key": key}})
    COUNTS["cache_key_spaces"] += 1
    if sent.answer.status == 200:
        assert len(sent.upstream) == 1
    else:
        expect_refused(sent, names="cache")


@pytest.mark.parametrize(
    "item",
    [{"prompt": "x", "extra_body": {"model": "other"}}, {"input": "x", "api": "chat"}],
    ids=["extra_body", "input_with_chat"],
)
def test_batch_item_errors_name_their_index(fuzz: Fuzz, item: dict[str, Any]) -> None:
    """Every refused batch item's message starts with requests[i], as README's example shows."""
    sent = fuzz.post_json({"requests": [{"prompt": "x"}, item]})
    COUNTS["batch_item_prefix"] += 1
    assert sent.answer.body is not None and len(sent.upstream) == 1, sent.answer.body
    error = sent.answer.body["results"][1]["error"]
    assert error["type"] == "invalid_request"
    assert error["message"].startswith("requests[1]"), error["message"]


def test_batch_key_spelled_with_escapes_is_a_batch(fuzz: Fuzz) -> None:
    """A body whose key is spelled "\\u0072equests" is the same JSON object as a batch."""
    sent = fuzz.send(b'{"\\u0072equests": [{"prompt": "x"}]}')
    COUNTS["escaped_batch_key"] += 1
    assert sent.answer.status == 200, sent.answer.body
    assert sent.answer.body is not None and "results" in sent.answer.body
    assert len(sent.upstream) == 1
