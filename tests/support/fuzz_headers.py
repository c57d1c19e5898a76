"""Hypothesis strategies for hostile content types, methods and caller header sets."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from tests.support.fuzz_values import VISIBLE_ASCII

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
