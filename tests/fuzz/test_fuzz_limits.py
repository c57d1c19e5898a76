"""Fuzzing body sizes and nesting depth against the function's limits (see test_fuzz.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.gateway import GatewayEmulator

# Fixtures `fuzz`, `fuzz_small` and the autouse payload report:
from tests.support.fuzz_harness import (
    COUNTS,
    DEFAULT_LIMIT,
    FUZZ,
    SMALL_LIMIT,
    Fuzz,
    encode,
    expect_ran,
    expect_refused,
    explain,
)
from tests.support.servers import ServerFactory

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
