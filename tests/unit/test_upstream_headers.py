"""Every header the gateway receives is built in `relay/upstream_headers.py`, and only there."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from relay import Settings, TraceContext, decode_prompt
from relay.secrets import Credentials
from relay.settings import Secret
from relay.translate import build_call
from relay.upstream_headers import attempt_headers

RELAY = Path(__file__).resolve().parents[2] / "relay"
HEADER_MODULE = RELAY / "upstream_headers.py"
# Headers the gateway answers with: read from responses, never sent.
RESPONSE_HEADERS = frozenset(
    {
        "cf-aig-log-id",
        "cf-aig-cache-status",
        "cf-aig-step",
        "cf-aig-model",
        "cf-aig-provider",
        "cf-aig-dlp",
    }
)
SENT_ELSEWHERE = ("authorization",)
TRACE = "1" * 32


def _strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every string constant but docstrings (which only describe headers)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def test_only_the_header_module_names_request_headers() -> None:
    """No other module under relay/ spells a cf-aig-* request header (or authorization)."""
    found = []
    for path in sorted(RELAY.rglob("*.py")):
        if path == HEADER_MODULE:
            continue
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            name = text.strip().lower()
            sent = name.startswith("cf-aig-") and name not in RESPONSE_HEADERS
            if sent or name in SENT_ELSEWHERE:
                found.append(f"{path.relative_to(RELAY.parent)}:{line}: {text!r}")
    assert found == []


def test_the_header_module_builds_what_goes_upstream() -> None:
    """The sanity check that the scan above looks at the right module."""
    names = {text for _, text in _strings(ast.parse(HEADER_MODULE.read_text("utf-8")))}
    assert {"cf-aig-metadata", "cf-aig-custom-cost", "cf-aig-request-timeout"} <= names


def test_call_and_attempt_headers() -> None:
    """A call's headers (request, settings, price, caller's trace), then each attempt's on top:
    credentials, the time left, and the attempt's own span replacing the caller's."""
    settings = Settings.from_env(
        {
            "AIG_BASE_URL": "http://127.0.0.1:9/v1/a/g/openai",
            "AIG_TOKEN": "tok-abcdefgh",
            "GATEWAY_ZDR": "true",
            "CUSTOM_PRICES": '{"gpt-4o-mini": {"input": 1, "output": 2}}',
        }
    )
    request = decode_prompt(b'{"prompt": "x", "model": "gpt-4o-mini", "metadata": {"a": "b"}}')
    call = build_call(request, settings, trace=TraceContext(TRACE, "2" * 16))
    assert call.headers == {
        "cf-aig-metadata": '{"a":"b"}',
        "cf-aig-zdr": "true",
        "cf-aig-otel-trace-id": TRACE,
        "cf-aig-otel-parent-span-id": "2" * 16,
        "cf-aig-custom-cost": '{"per_token_in":0.000001,"per_token_out":0.000002}',
    }
    credentials = Credentials(Secret("tok-abcdefgh"), Secret("sk-abcdefgh"))
    sent = attempt_headers(call.headers, credentials, 2.5009, (TRACE, "3" * 16))
    assert sent == {
        "content-type": "application/json",
        "cf-aig-authorization": "Bearer tok-abcdefgh",
        **call.headers,
        "cf-aig-request-timeout": "2500",
        "cf-aig-otel-parent-span-id": "3" * 16,
        "authorization": "Bearer sk-abcdefgh",
    }
    untraced = attempt_headers(call.headers, credentials, 0.0001, None)
    assert untraced["cf-aig-otel-parent-span-id"] == "2" * 16
    assert untraced["cf-aig-request-timeout"] == "1"
