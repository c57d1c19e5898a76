"""Hypothesis strategies for requests valid by construction.

"Valid" follows README.md's request table, not the code under test.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.support.contract import RESERVED_BODY_FIELDS
from tests.support.fuzz_values import (
    BYOK_ALIASES,
    CACHE_KEYS,
    FINITE_FLOATS,
    HOSTILE_TEXT,
    JSON_LEAVES,
    JSON_OBJECTS,
    JSON_VALUES,
    MODELS,
    NAMES,
    REQUEST_IDS,
)

# --- valid requests ------------------------------------------------------------------------------

TEXT = st.text(min_size=1, max_size=20)
METADATA_KEYS = st.text(min_size=1, max_size=20).filter(lambda key: not key.startswith("emulator"))
METADATA_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(10**20), max_value=10**20),
    FINITE_FLOATS,
    st.booleans(),
)
# At most four, so a test can add its own marker entry and stay within the contract's five.
METADATA = st.dictionaries(METADATA_KEYS, METADATA_VALUES, max_size=4)
# Content parts: arbitrary objects, and the kinds translated between the APIs' spellings with
# fields of any type (a `text` that is not a string, an `image_url` that is not an object, ...).
TYPED_PARTS = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "input_text", "output_text", "image_url", "input_image"])},
    optional={
        "text": st.one_of(st.text(max_size=10), JSON_LEAVES),
        "image_url": st.one_of(
            st.text(max_size=10),
            st.fixed_dictionaries({"url": st.text(max_size=10)}, optional={"detail": JSON_LEAVES}),
            JSON_VALUES,
        ),
        "detail": st.sampled_from(["low", "high", "auto"]),
    },
)
CONTENT = st.one_of(TEXT, st.lists(st.one_of(JSON_OBJECTS, TYPED_PARTS), min_size=1, max_size=3))
MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "developer", "user", "assistant"]), "content": CONTENT}
    ),
    min_size=1,
    max_size=4,
)
INPUTS = st.one_of(TEXT, st.lists(JSON_VALUES, min_size=1, max_size=3))
NUMBERS = st.one_of(FINITE_FLOATS, st.integers(min_value=-(10**6), max_value=10**6))
SHORT_TEXT = st.text(max_size=20)
APIS = st.sampled_from(["responses", "chat"])
RESPONSES_ONLY = st.just("responses")
TOOL_CHOICES = st.sampled_from(["auto", "none", "required"])
EFFORTS = st.sampled_from(["minimal", "low", "medium", "high"])
EXTRA_BODIES = st.dictionaries(
    st.text(max_size=8).filter(lambda key: key not in RESERVED_BODY_FIELDS),
    JSON_VALUES,
    max_size=3,
)


_PRESENCE = st.sampled_from(["set", "absent", "absent", "null"])


def _optional(
    draw: st.DrawFn, payload: dict[str, Any], key: str, value: st.SearchStrategy[Any]
) -> None:
    """Set `key` to a value drawn from `value`, or leave it out, or send it as null (which
    counts as absent)."""
    choice = draw(_PRESENCE)
    if choice == "set":
        payload[key] = draw(value)
    elif choice == "null":
        payload[key] = None


@st.composite
def tools(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid `tools` list."""
    result = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        tool: dict[str, Any] = {"name": draw(NAMES), "parameters": draw(JSON_OBJECTS)}
        _optional(draw, tool, "description", SHORT_TEXT)
        _optional(draw, tool, "strict", st.booleans())
        result.append(tool)
    return result


@st.composite
def json_schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A valid `json_schema` object."""
    schema: dict[str, Any] = {"name": draw(NAMES), "schema": draw(JSON_OBJECTS)}
    _optional(draw, schema, "strict", st.booleans())
    _optional(draw, schema, "description", SHORT_TEXT)
    return schema


@st.composite
def caches(draw: st.DrawFn) -> dict[str, Any]:
    """A valid `cache` object."""
    cache: dict[str, Any] = {}
    _optional(draw, cache, "ttl", st.integers(min_value=60, max_value=2_592_000))
    _optional(draw, cache, "skip", st.booleans())
    _optional(draw, cache, "key", CACHE_KEYS)
    return cache


@st.composite
def log_options(draw: st.DrawFn) -> dict[str, Any]:
    """A valid `log` object."""
    options: dict[str, Any] = {}
    _optional(draw, options, "collect", st.booleans())
    _optional(draw, options, "payload", st.booleans())
    return options


@st.composite
def valid_requests(draw: st.DrawFn, *, allow_stream: bool = True) -> dict[str, Any]:
    """A request every rule of the contract accepts; any field may also be null (= absent)."""
    payload: dict[str, Any] = {}
    source = draw(st.sampled_from(["prompt", "messages", "input"]))
    if source == "prompt":
        payload["prompt"] = draw(st.one_of(TEXT, HOSTILE_TEXT))
    elif source == "messages":
        payload["messages"] = draw(MESSAGES)
    else:
        payload["input"] = draw(INPUTS)
    for other in ("prompt", "messages", "input"):
        if other != source and draw(st.integers(0, 5)) == 0:
            payload[other] = None
    _optional(draw, payload, "api", RESPONSES_ONLY if source == "input" else APIS)
    _optional(draw, payload, "model", MODELS)
    _optional(draw, payload, "instructions", TEXT)
    _optional(draw, payload, "max_output_tokens", st.integers(1, 2**80))
    _optional(draw, payload, "temperature", NUMBERS)
    _optional(draw, payload, "top_p", NUMBERS)
    _optional(draw, payload, "json_schema", json_schemas())
    _optional(draw, payload, "tools", tools())
    tool_list = payload.get("tools")
    if tool_list is not None:
        named = st.sampled_from([tool["name"] for tool in tool_list]).map(lambda n: {"name": n})
        _optional(draw, payload, "tool_choice", st.one_of(TOOL_CHOICES, named))
    elif draw(st.booleans()):
        payload["tool_choice"] = None
    _optional(draw, payload, "reasoning_effort", EFFORTS)
    _optional(draw, payload, "metadata", METADATA)
    _optional(draw, payload, "cache", caches())
    if allow_stream:
        _optional(draw, payload, "stream", st.booleans())
    _optional(draw, payload, "request_id", REQUEST_IDS)
    _optional(draw, payload, "include_raw", st.booleans())
    _optional(draw, payload, "extra_body", EXTRA_BODIES)
    _optional(draw, payload, "log", log_options())
    _optional(draw, payload, "zdr", st.booleans())
    _optional(draw, payload, "byok_alias", BYOK_ALIASES)
    order = draw(st.permutations(list(payload)))
    return {key: payload[key] for key in order}
