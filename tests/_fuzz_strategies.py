"""Hypothesis strategies for the fuzz tests: requests valid by construction, requests made invalid
by exactly one contract rule, and hostile bytes, content types and header sets.

"Valid" and "invalid" follow README.md's request table, not the code under test.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests._contract import BATCH_MAX_ITEMS, FIELDS, RESERVED_BODY_FIELDS

# --- JSON values ---------------------------------------------------------------------------------

FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
JSON_LEAVES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    FINITE_FLOATS,
    st.text(max_size=10),
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=8,
)
JSON_OBJECTS: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.text(max_size=8), JSON_VALUES, max_size=3
)

_KIND_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=12),
    "integer": st.integers(min_value=-(10**6), max_value=10**6),
    "float": FINITE_FLOATS,
    "boolean": st.booleans(),
    "array": st.lists(JSON_LEAVES, max_size=3),
    "object": st.dictionaries(st.text(max_size=8), JSON_LEAVES, max_size=3),
}


def not_a(*kinds: str) -> st.SearchStrategy[Any]:
    """A non-null JSON value of none of `kinds` ("number" means integer and float)."""
    excluded = set(kinds)
    if "number" in excluded:
        excluded |= {"integer", "float"}
    return st.one_of(*(value for kind, value in _KIND_VALUES.items() if kind not in excluded))


# --- pattern-bound text --------------------------------------------------------------------------

VISIBLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))
REQUEST_ID_CHARS = string.ascii_letters + string.digits + "._:-"
NAME_CHARS = string.ascii_letters + string.digits + "_-"
REQUEST_IDS = st.text(alphabet=REQUEST_ID_CHARS, min_size=1, max_size=128)
NAMES = st.text(alphabet=NAME_CHARS, min_size=1, max_size=64)
BYOK_ALIASES = st.text(alphabet=NAME_CHARS + ".", min_size=1, max_size=64)
# A space at either end is a known bug (test_cache_key_with_edge_spaces_is_not_an_upstream_error)
# that the broad fuzzing steers around, so it keeps checking everything else.
CACHE_KEYS = st.text(alphabet=VISIBLE_ASCII, min_size=1, max_size=512).filter(
    lambda key: key == key.strip(" ")
)


def outside(alphabet: str, max_size: int) -> st.SearchStrategy[str]:
    """Text that breaks a pattern over `alphabet` (length 1..max_size): a char outside it (a
    final line feed included), or empty, or too long."""
    bad_char = st.characters(exclude_characters=alphabet, exclude_categories=["Cs"])
    with_bad_char = st.tuples(
        st.text(alphabet=alphabet, max_size=10), bad_char, st.text(alphabet=alphabet, max_size=10)
    ).map("".join)
    return st.one_of(
        st.just(""),
        with_bad_char,
        st.text(alphabet=alphabet, min_size=1, max_size=10).map(lambda value: value + "\n"),
        st.text(alphabet=alphabet, min_size=max_size + 1, max_size=max_size + 40),
    )


# Values meant to steer the call elsewhere if a field ever reached a URL or a header.
HOSTILE_TEXT = st.sampled_from(
    [
        "../../../evil",
        "/../../v1/other-account/other-gateway/openai/responses",
        "http://evil.example/steal",
        "https://evil.example:443/x?y=z#frag",
        "gpt-4o-mini\r\nHost: evil.example",
        "gpt-4o-mini\r\n\r\nGET / HTTP/1.1",
        "x\nAuthorization: Bearer stolen",
        "%2e%2e%2f%2e%2e%2fevil",
        "@evil.example",
        "\u0000\u2028\u2029\ufeff",
        "a" * 3000,
    ]
)
MODELS = st.one_of(
    st.sampled_from(["gpt-4o-mini", "gpt-4o", "o3-mini", "gpt-5-nano", "claude-x"]),
    HOSTILE_TEXT,
    st.text(min_size=1, max_size=30),
).filter(
    # unknown-*: the emulator's model_not_found; over 256 characters: refused (contract bound)
    lambda model: not model.startswith("unknown-") and len(model) <= 256
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


# --- bytes that are not a valid request ----------------------------------------------------------

BAD_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc0\x80",  # overlong NUL
    b"\xc3",  # truncated two-byte sequence
    b"\xe2\x82",  # truncated three-byte sequence
    b"\xed\xa0\x80",  # an encoded surrogate (CESU-8)
    b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xf8\x88\x80\x80\x80",  # five-byte form
]
BAD_NUMBERS = [
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "+Infinity",
    "nan",
    "inf",
    "1e",
    ".5",
    "01",
    "+1",
    "0x10",
    "1.",
    "-",
    "--1",
    "1_000",
]
LONE_SURROGATES = ["\\ud800", "\\udc00", "\\udbff", "\\ud800\\u0041", "a\\udfff", "\\ud800\\ud800"]
NUMBER_SLOTS = [
    '{"prompt": "x", "temperature": %s}',
    '{"prompt": "x", "top_p": %s}',
    '{"prompt": "x", "max_output_tokens": %s}',
    '{"prompt": "x", "metadata": {"n": %s}}',
    '{"prompt": "x", "extra_body": {"n": %s}}',
    '{"prompt": "x", "cache": {"ttl": %s}}',
    '{"input": [%s]}',
    '{"requests": [{"prompt": "x", "temperature": %s}]}',
]
STRING_SLOTS = [
    '{"prompt": "%s"}',
    '{"%s": "x"}',
    '{"prompt": "x", "model": "%s"}',
    '{"prompt": "x", "request_id": "%s"}',
    '{"prompt": "x", "metadata": {"%s": 1}}',
    '{"prompt": "x", "cache": {"key": "%s"}}',
    '{"messages": [{"role": "user", "content": "%s"}]}',
]
SYNTAX_ERRORS = [
    b"",
    b" ",
    b"\r\n\t ",
    b"null",
    b"{",
    b"}",
    b"[",
    b'{"prompt": "x",}',
    b"{'prompt': 'x'}",
    b'{prompt: "x"}',
    b'{"prompt" "x"}',
    b'{"prompt": "x" /* c */}',
    b'// c\n{"prompt": "x"}',
    b'{"prompt": "x"}{"prompt": "y"}',
    b'{"prompt": "x"}]',
    b'{"prompt": "a\x01b"}',
    b'{"prompt": "tab\there"}',
    b'{"prompt": "\\x41"}',
    b'{"prompt": "\\u12"}',
    b'{"prompt": "\\',
    b'{"prompt": "x"',
    b'{"prompt": True}',
    b'{"prompt": undefined}',
    b"\x00",
    b'\x00{"prompt": "x"}',
]
TRUNCATABLE = [
    b'{"prompt": "hello", "api": "chat"}',
    b'{"requests": [{"prompt": "a"}, {"prompt": "b"}]}',
    b'{"messages": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]}',
]


@dataclass(frozen=True)
class Junk:
    """A body, and whether the contract's answer is fixed (`invalid`) or merely must be sane."""

    body: bytes
    kind: str
    invalid: bool = True


@st.composite
def junk_bodies(draw: st.DrawFn) -> Junk:
    """Bytes that are not a valid request: broken UTF-8 or JSON, non-objects, odd encodings."""
    kind = draw(
        st.sampled_from(
            [
                "binary",
                "bad_utf8",
                "bad_number",
                "lone_surrogate",
                "syntax",
                "truncated",
                "trailing",
                "utf16",
                "not_object",
                "control_char",
            ]
        )
    )
    if kind == "binary":
        return Junk(draw(st.binary(max_size=300)), kind)
    if kind == "bad_utf8":
        template = draw(st.sampled_from(STRING_SLOTS)).encode()
        text = draw(st.text(max_size=8)).replace("\\", "").replace('"', "").encode()
        junk = text + draw(st.sampled_from(BAD_UTF8)) + text
        return Junk(template.replace(b"%s", junk), kind)
    if kind == "bad_number":
        slot = draw(st.sampled_from(NUMBER_SLOTS))
        return Junk(slot.replace("%s", draw(st.sampled_from(BAD_NUMBERS))).encode(), kind)
    if kind == "lone_surrogate":
        slot = draw(st.sampled_from(STRING_SLOTS))
        return Junk(slot.replace("%s", draw(st.sampled_from(LONE_SURROGATES))).encode(), kind)
    if kind == "syntax":
        return Junk(draw(st.sampled_from(SYNTAX_ERRORS)), kind)
    if kind == "truncated":
        whole = draw(st.sampled_from(TRUNCATABLE))
        return Junk(whole[: draw(st.integers(min_value=0, max_value=len(whole) - 1))], kind)
    if kind == "trailing":
        garbage = draw(st.text(min_size=1, max_size=10).filter(lambda g: g.strip(" \t\r\n")))
        return Junk(draw(st.sampled_from(TRUNCATABLE)) + garbage.encode(), kind)
    if kind == "utf16":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]))
        return Junk(draw(st.sampled_from(TRUNCATABLE)).decode().encode(encoding), kind)
    if kind == "not_object":
        value = draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict)))
        return Junk(json.dumps(value).encode(), kind)
    char = chr(draw(st.integers(min_value=0, max_value=0x1F)))
    return Junk(('{"prompt": "a' + char + 'b"}').encode(), kind)


# Bodies whose treatment the contract leaves open: the answer only has to be sane and consistent.
UNSETTLED_BODIES = [
    b'{"prompt": "a", "prompt": "b"}',
    b'{"prompt": "a", "prompt": null}',
    b'{"prompt": null, "prompt": "a"}',
    b'{"prompt": "a", "messages": null, "messages": [{"role": "user", "content": "b"}]}',
    b'{"api": "chat", "api": "responses", "input": "x"}',
    b'{"api": "responses", "api": "chat", "input": "x"}',
    b'{"prompt": "x", "cache": {"ttl": 60, "ttl": 10}}',
    b'{"prompt": "x", "cache": {"ttl": 10, "ttl": 60}}',
    b'{"prompt": "x", "metadata": {"a": 1, "a": 2, "b": 3, "c": 4, "d": 5, "e": 6}}',
    b'{"requests": [{"prompt": "a"}], "requests": [{"prompt": "b"}, {"prompt": "c"}]}',
    b'{"requests": [], "requests": [{"prompt": "b"}]}',
    b'{"requests": [{"prompt": "a"}], "requests": []}',
    b'\xef\xbb\xbf{"prompt": "with a BOM"}',
    b'{"prompt": "x", "temperature": 1e400}',
    b'{"prompt": "x", "temperature": -1e400}',
    b'{"prompt": "x", "temperature": 1e-400}',
    b'{"prompt": "x", "extra_body": {"n": 1e400}}',
    b'{"prompt": "x", "max_output_tokens": 123456789012345678901234567890123456789}',
    b'{"prompt": "x", "max_output_tokens": 1.0}',
    b'{"prompt": "x", "max_output_tokens": 1e2}',
    b'{"prompt": "x", "temperature": -0}',
    b'{"prompt": "\\u0000"}',
    b'{"prompt": "x", "request_id": "\\u0041bc"}',
    b'{"\\u0070rompt": "escaped key"}',
    b'{"prompt": "x", "tools": [{"name": "f", "parameters": {}}], "tool_choice": {"name": "f"},'
    b' "tools": [{"name": "g", "parameters": {}}]}',
]

# --- content types, methods, headers ------------------------------------------------------------

TOKEN_CHARS = string.ascii_letters + string.digits + "!#$&^_.+-"
JSON_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "Application/JSON",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            "application/json; charset=latin-1",
            "application/json;",
            "application/vnd.api+json",
            "application/merge-patch+json; x=y",
            "application/cloudevents+json",
            "text/anything+json",
        ]
    ),
    st.tuples(st.text(TOKEN_CHARS, min_size=1, max_size=10), st.text(TOKEN_CHARS, max_size=10)).map(
        lambda parts: f"{parts[0]}/{parts[1]}+json"
    ),
)
OTHER_TYPES = st.one_of(
    st.sampled_from(
        [
            "text/plain",
            "text/json",
            "json",
            "application",
            "application/",
            "*/*",
            "application/*",
            "application/jsonp",
            "application/json5",
            "application/json-seq",
            "application/x-json",
            "application/json+xml",
            "application/+jsonx",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/xml; charset=utf-8",
            "application/octet-stream",
            "text/event-stream",
            "text/html, application/json",
        ]
    ),
    st.text(alphabet=VISIBLE_ASCII, min_size=1, max_size=40),
)


def is_json_type(value: str) -> bool | None:
    """The contract's rule: application/json or *+json is JSON; None when it leaves it open."""
    media_type = value.split(";")[0].strip(" \t").lower()
    if not media_type:
        return None
    return media_type == "application/json" or media_type.endswith("+json")


ROUTED_METHODS = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]

MARKER = "zq9HOSTILEzq9"
CALLER_HEADER_NAMES = st.sampled_from(
    [
        "authorization",
        "Authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-prefix",
        "forwarded",
        "x-real-ip",
        "x-original-url",
        "x-rewrite-url",
        "x-http-method-override",
        "x-api-key",
        "api-key",
        "openai-organization",
        "openai-project",
        "cf-aig-authorization",
        "cf-aig-metadata",
        "cf-aig-cache-ttl",
        "cf-aig-skip-cache",
        "cf-aig-cache-key",
        "cf-aig-max-attempts",
        "cf-aig-request-timeout",
        "cf-aig-custom-cost",
        "cf-aig-event-id",
        "cf-aig-collect-log",
        "cf-ray",
        "cf-connecting-ip",
        "x-cloudscheduler-scheduletime",
        "x-cloud-trace-context",
        "traceparent",
        "tracestate",
        "user-agent",
        "accept",
        "accept-language",
        "origin",
        "referer",
        "x-requested-with",
    ]
)
CALLER_HEADER_VALUES = st.one_of(
    st.text(alphabet=VISIBLE_ASCII, max_size=30).map(lambda v: f"{MARKER}{v}".strip()),
    st.sampled_from(
        [
            f"Bearer {MARKER}",
            f"Basic {MARKER}=",
            f"{MARKER}.example:8080",
            f"00-{'a' * 32}-{'b' * 16}-01 {MARKER}",
            f"{'c' * 32}/12345;o=1 {MARKER}",
        ]
    ),
)


@st.composite
def caller_headers(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Headers a caller might send (duplicates included), every value carrying MARKER."""
    pairs = draw(
        st.lists(st.tuples(CALLER_HEADER_NAMES, CALLER_HEADER_VALUES), min_size=1, max_size=8)
    )
    custom = draw(
        st.lists(
            st.tuples(
                st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=20).map(
                    lambda name: f"x-{name}"
                ),
                CALLER_HEADER_VALUES,
            ),
            max_size=3,
        )
    )
    # HTTP/1.1 allows one Host header; a second one is a protocol error the server never sees.
    hosts = [pair for pair in pairs if pair[0] == "host"][:1]
    return [*hosts, *(pair for pair in pairs if pair[0] != "host"), *custom]


TRACE_HEADERS = st.one_of(
    st.builds(
        lambda trace, span: ("x-cloud-trace-context", f"{trace}/{span};o=1"),
        st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
        st.integers(min_value=0, max_value=2**64),
    ),
    st.builds(
        lambda trace, span: ("traceparent", f"00-{trace}-{span}-01"),
        st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
        st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
    ),
)
