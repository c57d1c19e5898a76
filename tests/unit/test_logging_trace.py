"""The trace header parser: X-Cloud-Trace-Context and traceparent become a log line's trace fields;
anything malformed or oversized is ignored."""

from __future__ import annotations

import pytest

from relay.logs import SPAN_FIELD, TRACE_FIELD, trace_field

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-cloud-trace-context": f"{TRACE}/1;o=1"}, (TRACE, "0000000000000001")),
        ({"x-cloud-trace-context": TRACE.upper()}, (TRACE, None)),
        ({"x-cloud-trace-context": f"{TRACE}/{2**64}"}, (TRACE, None)),
        ({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}, (TRACE, "00f067aa0ba902b7")),
        (
            {"x-cloud-trace-context": "junk", "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"},
            (TRACE, "00f067aa0ba902b7"),
        ),
        ({"x-cloud-trace-context": f"{TRACE}/{'1' * 4400};o=1"}, None),
        ({"x-cloud-trace-context": f"{TRACE}/{'9' * 21}"}, None),
        ({"x-cloud-trace-context": f"{TRACE}/1;o=1" + " " * 300}, None),
        ({"x-cloud-trace-context": f"{TRACE}extra"}, None),
        ({"x-cloud-trace-context": "0" * 32 + "/1"}, None),
        ({"traceparent": f"00-{TRACE}-{'0' * 16}-01"}, None),
        ({"traceparent": f"ff-{TRACE}-00f067aa0ba902b7-01"}, None),
        ({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01" + "-x" * 200}, None),
        ({}, None),
    ],
)
def test_trace_field(headers: dict[str, str], expected: tuple[str, str | None] | None) -> None:
    """Well-formed trace headers become the trace fields; anything malformed or oversized is
    ignored, never an error."""
    fields = trace_field(headers, "p")
    if expected is None:
        assert fields == {}
        return
    trace, span = expected
    assert fields[TRACE_FIELD] == f"projects/p/traces/{trace}"
    assert fields.get(SPAN_FIELD) == span
