"""Hypothesis strategies for the fuzz tests: JSON values and pattern-bound or hostile text."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

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
