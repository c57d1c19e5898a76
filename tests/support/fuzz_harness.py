"""The fuzz tests' harness: a client that sends payloads and reads the gateway's log, and the
expectations every answer is held to. The fixtures are in tests/fuzz/conftest.py.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from hypothesis import HealthCheck, Phase, note, settings

from emulators.gateway import GatewayEmulator, RecordedRequest
from tests.support.constants import OPENAI_KEY, TOKEN
from tests.support.contract import (
    ALLOWED_UPSTREAM_HEADERS,
    DEFAULT_API,
    ERROR_STATUS,
    UPSTREAM_PATHS,
    given_fields,
)
from tests.support.contract_answers import Answer, check_answer, result_of
from tests.support.contract_upstream import check_upstream, upstream_during
from tests.support.openapi import check_exchange
from tests.support.servers import FunctionServer

SMALL_LIMIT = 65_536
DEFAULT_LIMIT = 8 * 1024 * 1024
JSON_HEADERS = (("content-type", "application/json"),)
# Error types a healthy emulator never causes: seeing one means input was mishandled.
UNHEALTHY = {
    "upstream_error",
    "upstream_auth",
    "upstream_timeout",
    "secret_unavailable",
    "rate_limited",
}

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

# openapi-core takes some 15 ms an exchange and these tests send over 10,000: every GATE_EVERY-th
# exchange (and every schemathesis case) goes through the openapi.yaml gate of
# tests/support/openapi.py.
# check_answer still holds every answer to the spec's schemas.
GATE_EVERY = 4
# Payloads sent, per test; the module's total is printed when it finishes.
COUNTS: Counter[str] = Counter()
_nonces = itertools.count(1)


@dataclass
class Sent:
    """One request's checked answer and what reached the gateway meanwhile."""

    answer: Answer
    upstream: list[RecordedRequest]


class Fuzz:
    """Sends payloads to one function process over a keep-alive connection, and checks them."""

    def __init__(self, server: FunctionServer, gateway: GatewayEmulator) -> None:
        self.server = server
        self.gateway = gateway
        self.client = httpx.Client(timeout=60)
        base = urlsplit(gateway.base_url("test-account", "test-gateway"))
        self.base_path = base.path
        self.host = base.netloc
        self.sent = 0

    def close(self) -> None:
        self.client.close()

    def send(
        self,
        content: bytes | Iterable[bytes] | None,
        *,
        method: str = "POST",
        headers: Iterable[tuple[str, str]] = JSON_HEADERS,
    ) -> Sent:
        """Send one payload; the answer is checked against the contract before it is returned."""
        with upstream_during(self.gateway) as upstream:
            response = self.client.request(
                method, self.server.url, content=content, headers=list(headers)
            )
        self.sent += 1
        # A HEAD answer has no body to hold an error object.
        if method != "HEAD" and self.sent % GATE_EVERY == 0:
            check_exchange(response)
        return Sent(check_answer(response, head=method == "HEAD"), upstream.requests)

    def post_json(
        self, payload: Any, *, ascii: bool = True, headers: Iterable[tuple[str, str]] = JSON_HEADERS
    ) -> Sent:
        return self.send(encode(payload, ascii=ascii), headers=headers)

    def count(self, run: Callable[[], None], name: str, minimum: int) -> int:
        """Run `run` (a hypothesis test), then assert it sent at least `minimum` payloads."""
        before = self.sent
        run()
        sent = self.sent - before
        COUNTS[name] += sent
        assert sent >= minimum, f"{name}: only {sent} payloads sent"
        return sent


@contextmanager
def explain(**values: Any) -> Iterator[None]:
    """On a failure, record the generated values (this hypothesis prints blank arguments)."""
    try:
        yield
    except Exception:
        note("\n".join(f"{name} = {value!r}"[:5000] for name, value in values.items()))
        raise


def encode(payload: Any, *, ascii: bool = True) -> bytes:
    return json.dumps(payload, ensure_ascii=ascii, allow_nan=False).encode()


def nonce() -> str:
    return f"fz{next(_nonces)}"


def fresh(payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with its custom cache key (if any) made unique to this send.

    The emulator, like AI Gateway, shares one cache entry per custom key across both APIs, so a
    key reused by generated requests would serve one API's cached body to the other.
    """
    cache = payload.get("cache")
    if not isinstance(cache, dict) or not isinstance(cache.get("key"), str):
        return payload
    suffix = f"|{nonce()}"
    return {**payload, "cache": {**cache, "key": cache["key"][: 512 - len(suffix)] + suffix}}


# --- expectations ------------------------------------------------------------------------------


def expect_ran(fuzz: Fuzz, payload: dict[str, Any], sent: Sent, job: str | None = None) -> None:
    """A valid request: one upstream call to the right path with contract headers, a result."""
    fields = given_fields(payload)
    result = result_of(sent.answer)
    assert bool(sent.answer.events) is (fields.get("stream") is True)
    assert result["api"] == fields.get("api", DEFAULT_API)
    if "request_id" in fields:
        assert result["request_id"] == fields["request_id"]
    assert len(sent.upstream) == 1, f"{len(sent.upstream)} upstream requests"
    check_upstream(sent.upstream[0], payload, base_path=fuzz.base_path, host=fuzz.host, job=job)


def expect_refused(sent: Sent, kind: str = "invalid_request", names: str | None = None) -> None:
    """Refused before the gateway, with the error row's status; the message names the field."""
    answer = sent.answer
    assert answer.status == ERROR_STATUS[kind], answer.body
    if answer.body is not None:  # HEAD answers carry no body
        assert answer.error_type == kind, answer.body
    assert not sent.upstream, f"{len(sent.upstream)} request(s) reached the gateway"
    if names is not None:
        # Messages are cut at a few hundred characters: a long name is named by its start.
        assert names[:100] in answer.message, (names[:100], answer.message[:300])
        assert len(answer.message) < 400


def expect_consistent(fuzz: Fuzz, sent: Sent) -> None:
    """Whatever the answer, it matches what reached the gateway: one call per result (or
    upstream rejection), none for a refused request, and only to the configured path."""
    answer = sent.answer
    if answer.events:
        reached = 1
    elif answer.body is None:
        reached = 0
    else:
        items = answer.body.get("results", [answer.body])
        types = [item["error"]["type"] for item in items if item["ok"] is False]
        assert not UNHEALTHY.intersection(types), items
        reached = sum(1 for item in items if item["ok"]) + types.count("upstream_rejected")
    assert len(sent.upstream) == reached, (len(sent.upstream), reached, answer.body)
    paths = {fuzz.base_path + path for path in UPSTREAM_PATHS.values()}
    for recorded in sent.upstream:
        assert recorded.path in paths, recorded.path
        assert set(recorded.headers) <= ALLOWED_UPSTREAM_HEADERS, recorded.headers
        assert recorded.headers["host"] == fuzz.host
        assert recorded.headers["cf-aig-authorization"] == f"Bearer {TOKEN}"
        assert recorded.headers["authorization"] == f"Bearer {OPENAI_KEY}"
