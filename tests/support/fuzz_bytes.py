"""Fuzz inputs that are not a valid request body: bad numbers, strings, syntax, truncation."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.support.fuzz_values import JSON_VALUES

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
