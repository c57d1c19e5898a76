"""Hypothesis strategies for requests made invalid by exactly one contract rule, and bad batches.

"Invalid" follows README.md's request table, not the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.support.contract import BATCH_MAX_ITEMS, FIELDS, RESERVED_BODY_FIELDS
from tests.support.fuzz_valid import (
    CONTENT,
    INPUTS,
    MESSAGES,
    METADATA,
    METADATA_KEYS,
    METADATA_VALUES,
    TEXT,
    json_schemas,
    tools,
    valid_requests,
)
from tests.support.fuzz_values import (
    JSON_OBJECTS,
    JSON_VALUES,
    NAME_CHARS,
    NAMES,
    REQUEST_ID_CHARS,
    VISIBLE_ASCII,
    not_a,
    outside,
)

# --- invalid requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Invalid:
    """A request that breaks one contract rule; `names` is what the error message must name."""

    payload: Any
    rule: str
    names: str | None


def _bad_tools(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["empty", "type", "too_many", "item"]))
    if kind == "empty":
        return []
    if kind == "type":
        return draw(not_a("array"))
    if kind == "too_many":
        return [{"name": f"t{i}", "parameters": {}} for i in range(129)]
    tool: dict[str, Any] = {"name": draw(NAMES), "parameters": draw(JSON_OBJECTS)}
    flaw = draw(
        st.sampled_from(
            ["item_type", "no_name", "no_params", "name", "params", "strict", "desc", "unknown"]
        )
    )
    if flaw == "item_type":
        return [draw(not_a("object"))]
    if flaw == "no_name":
        del tool["name"]
    elif flaw == "no_params":
        del tool["parameters"]
    elif flaw == "name":
        tool["name"] = draw(st.one_of(outside(NAME_CHARS, 64), not_a("string")))
    elif flaw == "params":
        tool["parameters"] = draw(not_a("object"))
    elif flaw == "strict":
        tool["strict"] = draw(not_a("boolean"))
    elif flaw == "desc":
        tool["description"] = draw(not_a("string"))
    else:
        tool[draw(st.sampled_from(["type", "function", "x"]))] = 1
    return [*draw(tools()), tool]


def _bad_json_schema(draw: st.DrawFn) -> Any:
    schema = draw(json_schemas())
    flaw = draw(
        st.sampled_from(["type", "no_name", "no_schema", "name", "schema", "strict", "desc", "x"])
    )
    if flaw == "type":
        return draw(not_a("object"))
    if flaw == "no_name":
        del schema["name"]
    elif flaw == "no_schema":
        del schema["schema"]
    elif flaw == "name":
        schema["name"] = draw(st.one_of(outside(NAME_CHARS, 64), not_a("string")))
    elif flaw == "schema":
        schema["schema"] = draw(not_a("object"))
    elif flaw == "strict":
        schema["strict"] = draw(not_a("boolean"))
    elif flaw == "desc":
        schema["description"] = draw(not_a("string"))
    else:
        schema["type"] = "json_schema"
    return schema


def _bad_cache(draw: st.DrawFn) -> Any:
    flaw = draw(st.sampled_from(["type", "ttl", "skip", "key", "unknown"]))
    if flaw == "type":
        return draw(not_a("object"))
    if flaw == "ttl":
        return {
            "ttl": draw(
                st.one_of(
                    st.integers(max_value=59),
                    st.integers(min_value=2_592_001),
                    not_a("integer"),
                )
            )
        }
    if flaw == "skip":
        return {"skip": draw(not_a("boolean"))}
    if flaw == "key":
        return {"key": draw(st.one_of(outside(VISIBLE_ASCII, 512), not_a("string")))}
    return {"ttl": 60, draw(st.sampled_from(["max_attempts", "TTL", "bypass"])): True}


def _bad_messages(draw: st.DrawFn) -> Any:
    flaw = draw(
        st.sampled_from(
            ["empty", "type", "item", "role", "no_role", "no_content", "content", "unknown"]
        )
    )
    if flaw == "empty":
        return []
    if flaw == "type":
        return draw(not_a("array"))
    if flaw == "item":
        return [draw(not_a("object"))]
    message: dict[str, Any] = {"role": "user", "content": draw(CONTENT)}
    if flaw == "role":
        message["role"] = draw(
            st.one_of(st.sampled_from(["tool", "function", "User", "SYSTEM", ""]), not_a("string"))
        )
    elif flaw == "no_role":
        del message["role"]
    elif flaw == "no_content":
        del message["content"]
    elif flaw == "content":
        message["content"] = draw(
            st.one_of(
                st.just(""),
                st.just([]),
                st.lists(not_a("object"), min_size=1, max_size=2),
                not_a("string", "array"),
            )
        )
    else:
        message["name"] = "x"
    return [*draw(MESSAGES), message]


def _bad_metadata(draw: st.DrawFn) -> Any:
    flaw = draw(st.sampled_from(["type", "too_many", "value"]))
    if flaw == "type":
        return draw(not_a("object"))
    if flaw == "too_many":
        return draw(st.dictionaries(METADATA_KEYS, METADATA_VALUES, min_size=6, max_size=9))
    entries = draw(METADATA)
    entries[draw(METADATA_KEYS)] = draw(st.one_of(st.none(), not_a("string", "number", "boolean")))
    return entries


@st.composite
def invalid_requests(draw: st.DrawFn) -> Invalid:
    """A valid request with one rule broken."""
    payload = draw(valid_requests())
    rule = draw(
        st.sampled_from(
            [
                "unknown_field",
                "text_field",
                "api",
                "reasoning_effort",
                "max_output_tokens",
                "sampling",
                "flag",
                "request_id",
                "extra_body",
                "metadata",
                "cache",
                "json_schema",
                "tools",
                "tool_choice",
                "messages",
                "input",
                "exactly_one",
            ]
        )
    )
    names: str | None = rule
    if rule == "unknown_field":
        near_misses = ["promt", "Prompt", "PROMPT", " prompt", "prompt\u200b", "request", "model_"]
        key = draw(
            st.one_of(
                st.sampled_from(near_misses),
                st.text(min_size=1, max_size=30),
                st.text(alphabet="k", min_size=2000, max_size=3000),
                # "requests" makes the body a batch, whose other keys are the unknown ones
                # (bad_batches covers that); it is no unknown field of a single request.
            ).filter(lambda k: k not in FIELDS and k != "requests")
        )
        payload[key] = draw(JSON_VALUES)
        printable = key.isascii() and key.isprintable() and "`" not in key
        names = key if printable else None
    elif rule == "text_field":
        names = draw(st.sampled_from(["prompt", "instructions", "model"]))
        payload[names] = draw(st.one_of(st.just(""), not_a("string")))
    elif rule in ("api", "reasoning_effort"):
        allowed = {"responses", "chat", "minimal", "low", "medium", "high"}
        bad = st.text(max_size=12).filter(lambda value: value not in allowed)
        payload[rule] = draw(st.one_of(bad, not_a("string")))
    elif rule == "max_output_tokens":
        payload[rule] = draw(st.one_of(st.integers(max_value=0), not_a("integer")))
    elif rule == "sampling":
        names = draw(st.sampled_from(["temperature", "top_p"]))
        payload[names] = draw(not_a("number"))
    elif rule == "flag":
        names = draw(st.sampled_from(["stream", "include_raw"]))
        payload[names] = draw(not_a("boolean"))
    elif rule == "request_id":
        payload[rule] = draw(st.one_of(outside(REQUEST_ID_CHARS, 128), not_a("string")))
    elif rule == "extra_body":
        reserved = st.sampled_from(sorted(RESERVED_BODY_FIELDS))
        with_reserved = st.builds(lambda key, value: {key: value}, reserved, JSON_VALUES)
        payload[rule] = draw(st.one_of(not_a("object"), with_reserved))
    elif rule == "metadata":
        payload[rule] = _bad_metadata(draw)
    elif rule == "cache":
        payload[rule] = _bad_cache(draw)
    elif rule == "json_schema":
        payload[rule] = _bad_json_schema(draw)
    elif rule == "tools":
        payload[rule] = _bad_tools(draw)
    elif rule == "tool_choice":
        flaw = draw(st.sampled_from(["value", "type", "unnamed", "missing_tool", "no_tools"]))
        if flaw == "value":
            bad = st.text(max_size=12).filter(lambda v: v not in ("auto", "none", "required"))
            payload[rule] = draw(bad)
        elif flaw == "type":
            payload[rule] = draw(not_a("string", "object"))
        elif flaw == "unnamed":
            payload["tools"] = draw(tools())
            payload[rule] = {}
        elif flaw == "missing_tool":
            payload["tools"] = draw(tools())
            taken = {tool["name"] for tool in payload["tools"]}
            payload[rule] = {"name": draw(NAMES.filter(lambda name: name not in taken))}
        else:
            payload.pop("tools", None)
            choice = st.sampled_from(["auto", "none", "required", {"name": "f"}])
            payload[rule] = draw(choice)
    elif rule == "messages":
        payload[rule] = _bad_messages(draw)
    elif rule == "input":
        if draw(st.booleans()):
            payload[rule] = draw(st.one_of(st.just(""), st.just([]), not_a("string", "array")))
        else:
            for source in ("prompt", "messages"):
                payload.pop(source, None)
            payload[rule] = draw(INPUTS)
            payload["api"] = "chat"
    else:
        names = "prompt"
        present = draw(st.sets(st.sampled_from(["prompt", "messages", "input"]), max_size=3))
        if len(present) == 1:
            present.add("prompt" if "prompt" not in present else "messages")
        for source in ("prompt", "messages", "input"):
            payload.pop(source, None)
        if "prompt" in present:
            payload["prompt"] = draw(TEXT)
        if "messages" in present:
            payload["messages"] = draw(MESSAGES)
        if "input" in present:
            payload["input"] = draw(INPUTS)
        if "input" in present and payload.get("api") == "chat":
            payload["api"] = "responses"
    return Invalid(payload, rule, names)


# --- batches -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One batch item and whether the contract lets it run."""

    value: Any
    valid: bool


BATCH_ITEMS: st.SearchStrategy[Item] = st.one_of(
    valid_requests(allow_stream=False).map(lambda payload: Item(payload, True)),
    valid_requests(allow_stream=False).map(
        lambda payload: Item({**payload, "stream": True}, False)
    ),
    invalid_requests().map(lambda invalid: Item(invalid.payload, False)),
    JSON_VALUES.filter(lambda value: not isinstance(value, dict)).map(lambda v: Item(v, False)),
)


@st.composite
def bad_batches(draw: st.DrawFn) -> Invalid:
    """A body shaped like a batch that the contract refuses whole."""
    flaw = draw(st.sampled_from(["empty", "type", "too_many", "unknown"]))
    if flaw == "empty":
        return Invalid({"requests": []}, flaw, "requests")
    if flaw == "type":
        return Invalid({"requests": draw(not_a("array"))}, flaw, "requests")
    if flaw == "too_many":
        count = draw(st.integers(min_value=BATCH_MAX_ITEMS + 1, max_value=BATCH_MAX_ITEMS + 10))
        return Invalid(
            {"requests": [{"prompt": f"item {i}"} for i in range(count)]}, flaw, "requests"
        )
    key = draw(st.sampled_from(["ok", "prompt", "x"]))
    return Invalid({"requests": [{"prompt": "x"}], key: 1}, flaw, key)
