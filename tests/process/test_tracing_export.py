"""Tracing as deployed: a functions-framework process with TRACING=otel exports its spans to a
local OTLP/HTTP receiver (tests/unit/test_tracing.py has the in-process span tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.calls import stream
from tests.support.otlp import OtlpReceiver
from tests.support.servers import ServerFactory

# The caller's span the exported call span must name as its parent.
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    otlp = OtlpReceiver()
    yield otlp
    otlp.close()


def test_spans_are_exported_over_otlp(serve: ServerFactory, receiver: OtlpReceiver) -> None:
    """The function as deployed (TRACING=otel) exports its spans over OTLP/HTTP; a plain and a
    streamed call each arrive as a call span and an attempt span in the caller's trace."""
    server = serve(
        secrets="env",
        TRACING="otel",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="50",
        OTEL_SERVICE_NAME="relay-under-test",
    )
    trace_id = uuid.uuid4().hex
    parent = f"00-{trace_id}-{PARENT_ID}-01"
    response = server.post({"prompt": "export me"}, headers={"traceparent": parent})
    assert response.status_code == 200, response.text
    _, events, _ = stream(server, {"prompt": "and me", "stream": True})
    assert events[-1][0] == "result"
    spans = receiver.wait_for(trace_id, 2)
    names = sorted(s.name for s in spans)
    assert names == ["POST", "chat gpt-4o-mini"]
    call = next(s for s in spans if s.name.startswith("chat "))
    assert call.parent_span_id.hex() == PARENT_ID
    attributes = {a.key: a.value for a in call.attributes}
    assert attributes["gen_ai.provider.name"].string_value == "openai"
    assert attributes["gen_ai.usage.input_tokens"].int_value > 0
    # The stream (no caller trace: a trace of its own) arrives too.
    others = [s for s in receiver.wait_for(None, 4) if s.trace_id.hex() != trace_id]
    assert sorted(s.name for s in others) == ["POST", "chat gpt-4o-mini"]
