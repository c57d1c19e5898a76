"""Hostile input over real sockets: generated payloads thrown at a functions-framework process.

Every answer must be JSON in the contract's shape (never `internal`, never HTTP 500, the status
the error type's row names), and the gateway emulator's request log shows that nothing reached
the gateway unless the contract lets it run, and then only to the configured host and path with
the contract's headers. Generation is derandomized, so a run is repeatable; each test counts the
payloads it sent and asserts the count, and the module prints the total at the end.

Hypothesis and schemathesis (against openapi.yaml) together send well over 10,000 payloads.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from emulators.gateway import GatewayEmulator, RecordedRequest
from tests._contract import (
    ALLOWED_UPSTREAM_HEADERS,
    DEFAULT_API,
    ERROR_STATUS,
    FIELDS,
    UPSTREAM_PATHS,
    Answer,
    check_answer,
    check_upstream,
    given_fields,
    result_of,
    upstream_during,
)
from tests._fuzz_bytes import UNSETTLED_BODIES, Junk, junk_bodies
from tests._fuzz_headers import (
    JSON_TYPES,
    MARKER,
    OTHER_TYPES,
    ROUTED_METHODS,
    TRACE_HEADERS,
    caller_headers,
    is_json_type,
)
from tests._fuzz_invalid import BATCH_ITEMS, Invalid, Item, bad_batches, invalid_requests
from tests._fuzz_valid import valid_requests
from tests._fuzz_values import JSON_VALUES, VISIBLE_ASCII
from tests._openapi import check_exchange
from tests._paths import ROOT
from tests._servers import FunctionServer
from tests.conftest import OPENAI_KEY, TOKEN, ServerFactory

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
# exchange (and every schemathesis case) goes through the openapi.yaml gate of tests/_openapi.py.
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


@pytest.fixture(scope="module")
def fuzz(serve: ServerFactory, gateway: GatewayEmulator) -> Iterator[Fuzz]:
    """The default function process (MAX_BODY_BYTES 8 MiB, secrets from Secret Manager)."""
    client = Fuzz(serve(), gateway)
    yield client
    client.close()


@pytest.fixture(scope="module")
def fuzz_small(serve: ServerFactory, gateway: GatewayEmulator) -> Iterator[Fuzz]:
    """A function process with MAX_BODY_BYTES=65536."""
    client = Fuzz(serve(MAX_BODY_BYTES=str(SMALL_LIMIT)), gateway)
    yield client
    client.close()


@pytest.fixture(scope="module", autouse=True)
def _report_total(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many payloads the module sent, test by test, once it is done."""
    yield
    lines = [f"{name}: {count}" for name, count in COUNTS.items()]
    summary = f"fuzz: {sum(COUNTS.values())} payloads sent ({', '.join(lines)})"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            reporter.write_line("")
            reporter.write_line(summary)


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


# --- generated payloads ------------------------------------------------------------------------


def test_valid_requests_run_once_with_contract_headers(
    fuzz: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """A valid request runs after one upstream call, to the right path, with contract headers."""

    @settings(FUZZ, max_examples=1300)
    @given(payload=valid_requests(), ascii=st.booleans())
    def run(payload: dict[str, Any], ascii: bool) -> None:
        payload = fresh(payload)
        with explain(payload=payload, ascii=ascii):
            expect_ran(fuzz, payload, fuzz.post_json(payload, ascii=ascii))

    record_property("payloads", fuzz.count(run, "valid", 1200))


def test_invalid_requests_are_refused_before_the_gateway(
    fuzz: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """A request breaking one rule is refused naming the field; nothing goes upstream."""

    @settings(FUZZ, max_examples=1900)
    @given(invalid=invalid_requests(), ascii=st.booleans())
    def run(invalid: Invalid, ascii: bool) -> None:
        with explain(invalid=invalid, ascii=ascii):
            expect_refused(fuzz.post_json(invalid.payload, ascii=ascii), names=invalid.names)

    record_property("payloads", fuzz.count(run, "invalid", 1800))


ARBITRARY_OBJECTS = st.dictionaries(
    st.one_of(
        st.sampled_from(
            ["prompt", "messages", "input", "api", "model", "requests", "metadata", "tools"]
        ),
        st.text(max_size=12),
    ),
    JSON_VALUES,
    max_size=6,
)


def test_arbitrary_json_is_answered_consistently(
    fuzz: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """Arbitrary JSON gets a contract answer; non-objects and unknown keys never go upstream."""

    @settings(FUZZ, max_examples=2000)
    @given(value=st.one_of(JSON_VALUES, ARBITRARY_OBJECTS), ascii=st.booleans())
    def run(value: Any, ascii: bool) -> None:
        with explain(value=value, ascii=ascii):
            sent = fuzz.post_json(value, ascii=ascii)
            batch = isinstance(value, dict) and list(value) == ["requests"]
            if not isinstance(value, dict) or (not batch and not set(value) <= FIELDS):
                expect_refused(sent)
            else:
                expect_consistent(fuzz, sent)

    record_property("payloads", fuzz.count(run, "arbitrary_json", 1900))


def test_junk_bodies_are_refused_before_the_gateway(
    fuzz: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """Bad UTF-8, NaN, lone surrogates, broken JSON, raw bytes: refused, nothing upstream."""

    @settings(FUZZ, max_examples=2200)
    @given(junk=junk_bodies())
    def run(junk: Junk) -> None:
        with explain(junk=junk):
            expect_refused(fuzz.send(junk.body))

    record_property("payloads", fuzz.count(run, "junk", 2100))


@pytest.mark.parametrize("body", UNSETTLED_BODIES, ids=range(len(UNSETTLED_BODIES)))
def test_bodies_the_contract_leaves_open_are_answered_consistently(fuzz: Fuzz, body: bytes) -> None:
    """Duplicate keys, a BOM, huge numbers: a sane answer matching what went upstream."""
    sent = fuzz.send(body)
    COUNTS["unsettled"] += 1
    expect_consistent(fuzz, sent)


CONTENT_TYPES = st.one_of(st.none(), JSON_TYPES, OTHER_TYPES).filter(
    lambda value: value is None or bool(value.strip())
)


def test_methods_and_content_types(
    fuzz: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """Non-POST answers 405, a non-JSON Content-Type 415; JSON types are read as JSON."""

    @settings(FUZZ, max_examples=1100)
    @given(
        method=st.sampled_from(["POST", "POST", *ROUTED_METHODS]),
        content_type=CONTENT_TYPES,
        body=st.one_of(
            valid_requests(allow_stream=False).map(lambda p: (p, True)),
            invalid_requests().map(lambda invalid: (invalid.payload, False)),
        ),
    )
    def run(method: str, content_type: str | None, body: tuple[Any, bool]) -> None:
        payload, valid = body
        payload = fresh(payload) if valid else payload
        with explain(method=method, content_type=content_type, payload=payload):
            value = None if content_type is None else content_type.strip()
            headers = [] if value is None else [("content-type", value)]
            sent = fuzz.send(encode(payload), method=method, headers=headers)
            is_json = True if value is None else is_json_type(value)
            if method != "POST":
                expect_refused(sent, "method_not_allowed")
            elif is_json is False:
                expect_refused(sent, "unsupported_media_type")
            elif is_json is None:
                expect_consistent(fuzz, sent)
            elif valid:
                expect_ran(fuzz, payload, sent)
            else:
                expect_refused(sent)

    record_property("payloads", fuzz.count(run, "methods_content_types", 1000))


def check_caller_headers(
    fuzz: Fuzz,
    payload: dict[str, Any],
    headers: list[tuple[str, str]],
    job: str | None,
    trace: tuple[str, str] | None,
) -> None:
    """Send a valid request with the caller's headers; none of them may show upstream."""
    sent_headers = [*JSON_HEADERS, *headers]
    if job is not None:
        sent_headers.append(("x-cloudscheduler-jobname", job))
    if trace is not None:
        sent_headers.append(trace)
    sent = fuzz.post_json(payload, headers=sent_headers)
    expect_ran(fuzz, payload, sent, job=job)
    scheduler_metadata = bool(job) and given_fields(payload).get("metadata") is None
    for name, value in sent.upstream[0].headers.items():
        if name == "cf-aig-metadata" and scheduler_metadata:
            continue  # the job name, on purpose (checked by expect_ran)
        assert MARKER not in value, f"a caller's header reached upstream as {name}: {value}"
    assert MARKER not in json.dumps(sent.upstream[0].json), "a caller's header in the body"


JOB_NAMES = st.one_of(
    st.none(),
    st.text(alphabet=VISIBLE_ASCII, min_size=1, max_size=40).map(lambda j: f"{MARKER}{j}".strip()),
    st.just(MARKER + "j" * 700),
)


def test_caller_headers_never_travel_upstream(
    fuzz: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """No caller header (Authorization, Host, X-Forwarded-*, cf-aig-*, ...) ever goes upstream."""

    @settings(FUZZ, max_examples=900)
    @given(
        payload=valid_requests(),
        headers=caller_headers(),
        job=JOB_NAMES,
        trace=st.one_of(st.none(), TRACE_HEADERS),
    )
    def run(
        payload: dict[str, Any],
        headers: list[tuple[str, str]],
        job: str | None,
        trace: tuple[str, str] | None,
    ) -> None:
        payload = fresh(payload)
        with explain(payload=payload, headers=headers, job=job, trace=trace):
            check_caller_headers(fuzz, payload, headers, job, trace)

    record_property("payloads", fuzz.count(run, "caller_headers", 800))


# Item errors raised when the request is translated, not decoded, lack the requests[i] prefix.
UNPREFIXED_ITEM_ERRORS = ("extra_body cannot set", "input is Responses-style")


def check_batch(fuzz: Fuzz, items: list[Item]) -> None:
    """Send `items` as one batch; valid ones run once each, every other one fails alone."""
    values: list[Any] = []
    marks: dict[str, int] = {}
    for index, item in enumerate(items):
        value = item.value
        if item.valid:
            mark = nonce()
            metadata = given_fields(value).get("metadata") or {}
            value = {**fresh(value), "metadata": {**metadata, "fuzz_item": mark}}
            marks[mark] = index
        values.append(value)
    sent = fuzz.post_json({"requests": values})
    body = sent.answer.body
    assert sent.answer.status == 200 and body is not None, body
    results = body["results"]
    assert len(results) == len(items)
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        if item.valid:
            assert result["ok"] is True, result
            assert result["api"] == given_fields(item.value).get("api", DEFAULT_API)
            continue
        assert result["ok"] is False and result["error"]["type"] == "invalid_request", result
        message = result["error"]["message"]
        # Unprefixed translation errors are a known bug: test_batch_item_errors_name_their_index.
        prefixed = message.startswith(f"requests[{index}]")
        assert prefixed or message.startswith(UNPREFIXED_ITEM_ERRORS), result
    assert len(sent.upstream) == len(marks), (len(sent.upstream), len(marks))
    for recorded in sent.upstream:
        index = marks.pop(json.loads(recorded.headers["cf-aig-metadata"])["fuzz_item"])
        check_upstream(recorded, values[index], base_path=fuzz.base_path, host=fuzz.host)


def test_batches_with_junk_fail_item_by_item(
    fuzz: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """A batch with junk items answers per item in order; only its valid items reach upstream."""

    @settings(FUZZ, max_examples=500)
    @given(
        items=st.lists(BATCH_ITEMS, min_size=1, max_size=8),
        whole=st.one_of(st.none(), st.none(), st.none(), bad_batches()),
    )
    def run(items: list[Item], whole: Invalid | None) -> None:
        with explain(items=items, whole=whole):
            if whole is None:
                check_batch(fuzz, items)
            else:
                expect_refused(fuzz.post_json(whole.payload), names=whole.names)

    record_property("payloads", fuzz.count(run, "batches", 450))


# --- size ----------------------------------------------------------------------------------------


def sized_body(size: int, kind: str) -> bytes:
    """A body of exactly `size` bytes: a valid prompt (multi-byte text included), or junk."""
    head, tail = b'{"prompt": "', b'"}'
    room = size - len(head) - len(tail)
    if kind == "prompt" and room >= 1:
        wide = "\u00e9" * (room // 4)  # two bytes each
        return head + wide.encode() + b"a" * (room - 2 * len(wide)) + tail
    if kind == "unknown" and room >= 1:
        return b'{"' + b"k" * (size - 7) + b'": 1}' if size >= 8 else b"{" * size
    return b"[" * size


def chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def check_sized(fuzz: Fuzz, size: int, kind: str, chunk: int | None) -> None:
    """Send a body of exactly `size` bytes to the 64 KiB server, whole or in chunks."""
    body = sized_body(size, kind)
    assert len(body) == size
    sent = fuzz.send(body if chunk is None else chunks(body, max(chunk, 64)))
    if size > SMALL_LIMIT:
        expect_refused(sent, "payload_too_large")
    elif body.startswith(b'{"prompt"'):
        expect_ran(fuzz, json.loads(body), sent)
    else:
        expect_refused(sent)


def test_body_limit_is_exact(
    fuzz_small: Fuzz, record_property: Callable[[str, object], None]
) -> None:
    """With MAX_BODY_BYTES=65536 a body of 65,536 bytes is read and one byte more answers 413."""

    @settings(FUZZ, max_examples=320)
    @given(
        size=st.one_of(
            st.integers(min_value=SMALL_LIMIT - 40, max_value=SMALL_LIMIT + 40),
            st.integers(min_value=0, max_value=4 * SMALL_LIMIT),
        ),
        kind=st.sampled_from(["prompt", "prompt", "unknown", "brackets"]),
        chunk=st.one_of(st.none(), st.integers(min_value=1, max_value=3 * SMALL_LIMIT)),
    )
    def run(size: int, kind: str, chunk: int | None) -> None:
        with explain(size=size, kind=kind, chunk=chunk):
            check_sized(fuzz_small, size, kind, chunk)

    record_property("payloads", fuzz_small.count(run, "body_limit", 300))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_megabyte_bodies(fuzz: Fuzz, chunked: bool) -> None:
    """Megabyte bodies under 8 MiB are read (valid ones run), bodies over it answer 413."""
    cases: list[tuple[bytes, str]] = [
        (sized_body(3_000_000, "prompt"), "ran"),
        (sized_body(DEFAULT_LIMIT, "prompt"), "ran"),
        (sized_body(DEFAULT_LIMIT + 1, "prompt"), "payload_too_large"),
        (sized_body(20_000_000, "prompt"), "payload_too_large"),
        (sized_body(2_000_000, "unknown"), "invalid_request"),
        (encode({"prompt": "x", "max_output_tokens": "9" * 2_000_000}), "invalid_request"),
        (encode({"prompt": "x", "request_id": "r" * 3_000_000}), "invalid_request"),
        (encode({"prompt": "x", "metadata": {"k": ["v" * 1_000_000]}}), "invalid_request"),
        (encode({"requests": [{"prompt": "x", "junk": "j" * 1_000_000}]}), "batch"),
    ]
    for body, outcome in cases:
        content = chunks(body, 1 << 20) if chunked else body
        sent = fuzz.send(content)
        COUNTS["megabytes"] += 1
        if outcome == "ran":
            expect_ran(fuzz, json.loads(body), sent)
        elif outcome == "batch":
            assert sent.answer.status == 200 and not sent.upstream
        else:
            expect_refused(sent, outcome)


# --- nesting -------------------------------------------------------------------------------------


def nested(depth: int, kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * depth + b'"x"' + b"]" * depth
    return b'{"a":' * depth + b'"x"' + b"}" * depth


NESTED_FIELDS: dict[str, Callable[[bytes], bytes]] = {
    "input": lambda inner: b'{"input": [' + inner + b"]}",
    "extra_body": lambda inner: b'{"prompt": "x", "extra_body": {"x": ' + inner + b"}}",
    "json_schema": lambda inner: (
        b'{"prompt": "x", "json_schema": {"name": "n", "schema": {"x": ' + inner + b"}}}"
    ),
    "tools": lambda inner: (
        b'{"prompt": "x", "tools": [{"name": "f", "parameters": {"x": ' + inner + b"}}]}"
    ),
    "content": lambda inner: (
        b'{"messages": [{"role": "user", "content": [{"x": ' + inner + b"}]}]}"
    ),
    "batch_item": lambda inner: b'{"requests": [{"input": [' + inner + b"]}]}",
}


@pytest.mark.parametrize("depth", [10_000, 100_000, 1_000_000])
def test_deep_nesting_is_refused(fuzz: Fuzz, depth: int) -> None:
    """JSON nested 10,000 to 1,000,000 levels deep is refused and never goes upstream."""
    bodies = [
        nested(depth),
        nested(depth, "object"),
        b"[" * depth,
        b'{"a":' * depth,
        *(wrap(nested(depth)) for wrap in NESTED_FIELDS.values()),
        *(wrap(nested(depth, "object")) for wrap in NESTED_FIELDS.values()),
    ]
    for body in bodies:
        sent = fuzz.send(body)
        COUNTS["deep_nesting"] += 1
        if body.startswith(b'{"requests"'):
            assert sent.answer.status in (200, 400) and not sent.upstream, sent.answer.body
            continue
        expect_refused(sent)


SWEEP = sorted({*range(1, 800, 37), *range(800, 1101)})


@pytest.mark.parametrize(
    ("settings_name", "field"),
    [*(("default", field) for field in NESTED_FIELDS), ("log_prompts", "input")],
)
def test_any_nesting_depth_is_run_or_refused(
    serve: ServerFactory, gateway: GatewayEmulator, settings_name: str, field: str
) -> None:
    """At any nesting depth up to 1,100 a request runs or is refused as too deep, never internal."""
    env = {"LOG_PROMPTS": "true"} if settings_name == "log_prompts" else {}
    fuzz = Fuzz(serve(**env), gateway)
    failures: list[str] = []
    for depth in SWEEP:
        try:
            sent = fuzz.send(NESTED_FIELDS[field](nested(depth)))
        except AssertionError as exc:  # check_answer: a 500, a body that is not the contract's
            failures.append(f"depth {depth}: {str(exc)[:300]}")
            continue
        finally:
            COUNTS["depth_sweep"] += 1
        answer = sent.answer
        if field == "batch_item" and answer.status == 200 and answer.body is not None:
            item = answer.body["results"][0]
            ok = item["ok"] or "nested too deeply" in item["error"]["message"]
            if not ok or len(sent.upstream) != int(item["ok"]):
                failures.append(f"depth {depth}: {item}")
        elif answer.status == 200:
            if len(sent.upstream) != 1:
                failures.append(f"depth {depth}: 200 after {len(sent.upstream)} calls")
        elif answer.error_type != "invalid_request" or sent.upstream:
            failures.append(f"depth {depth}: {answer.body}")
    fuzz.close()
    assert not failures, "\n".join(failures[:10])


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
