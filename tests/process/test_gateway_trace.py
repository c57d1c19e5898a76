"""The caller's trace reaches the gateway, over real sockets: traceparent, X-Cloud-Trace-Context
and a Pub/Sub message's trace attribute become cf-aig-otel-* headers the gateway emulator checks."""

from __future__ import annotations

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import event_server, pubsub_data, send
from tests.support.servers import ServerFactory
from tests.support.upstream import nonce, tagged, upstream

OTEL_HEADERS = ("cf-aig-otel-trace-id", "cf-aig-otel-parent-span-id")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"}, SPAN_ID),
        ({"traceparent": f"00-{TRACE_ID.upper()}-{SPAN_ID}-01"}, None),  # W3C: lowercase only
        ({"x-cloud-trace-context": f"{TRACE_ID}/12345;o=1"}, f"{12345:016x}"),
        ({"x-cloud-trace-context": f"{TRACE_ID.upper()}/1"}, f"{1:016x}"),
        (
            {
                "x-cloud-trace-context": f"{TRACE_ID}/{2**64 - 1};o=1",
                "traceparent": f"00-{'1' * 32}-{SPAN_ID}-01",
            },
            "f" * 16,
        ),
    ],
)
def test_trace_context_reaches_the_gateway(
    serve: ServerFactory, gateway: GatewayEmulator, headers: dict[str, str], expected: str | None
) -> None:
    """The caller's trace id and span id go upstream as cf-aig-otel-* (span as 16 hex)."""
    tag = nonce()
    response = serve().post(tagged({"prompt": "hi"}, tag), headers=headers)
    assert response.status_code == 200, response.text
    sent = upstream(gateway, tag)[0].headers
    if expected is None:
        assert not set(OTEL_HEADERS) & set(sent)
    else:
        assert sent["cf-aig-otel-trace-id"] == TRACE_ID
        assert sent["cf-aig-otel-parent-span-id"] == expected


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": "garbage"},
        {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01-extra"},
        {"traceparent": f"ff-{TRACE_ID}-{SPAN_ID}-01"},
        {"traceparent": f"00-{'0' * 32}-{SPAN_ID}-01"},
        {"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"},
        {"traceparent": f"01-{TRACE_ID}-{SPAN_ID}-01-" + "a" * 300},  # oversized
        {"x-cloud-trace-context": "not-hex/1;o=1"},
        {"x-cloud-trace-context": f"{TRACE_ID}/{2**64};o=1-and-more"},
        {"x-cloud-trace-context": TRACE_ID + "0" * 300},
        {"x-cloud-trace-context": f"{'0' * 32}/1;o=1"},
    ],
)
def test_malformed_trace_headers_are_ignored(
    serve: ServerFactory, gateway: GatewayEmulator, headers: dict[str, str]
) -> None:
    """A malformed or oversized trace header is no error and sends no otel headers."""
    tag = nonce()
    response = serve().post(tagged({"prompt": "hi"}, tag), headers=headers)
    assert response.status_code == 200, response.text
    assert not set(OTEL_HEADERS) & set(upstream(gateway, tag)[0].headers)


def test_trace_without_span_sends_the_trace_id_only(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    tag = nonce()
    headers = {"x-cloud-trace-context": TRACE_ID}
    assert serve().post(tagged({"prompt": "hi"}, tag), headers=headers).status_code == 200
    sent = upstream(gateway, tag)[0].headers
    assert sent["cf-aig-otel-trace-id"] == TRACE_ID
    assert "cf-aig-otel-parent-span-id" not in sent


@pytest.mark.parametrize("attribute", ["traceparent", "googclient_traceparent"])
def test_event_trace_attribute_reaches_the_gateway(
    serve: ServerFactory, gateway: GatewayEmulator, attribute: str
) -> None:
    """A Pub/Sub message's traceparent attribute (either spelling) joins the gateway's spans."""
    tag = nonce()
    attributes = {attribute: f"00-{TRACE_ID}-{SPAN_ID}-01"}
    data = pubsub_data(tagged({"prompt": "hi"}, tag), f"traced-{tag}", attributes)
    assert send(event_server(serve), data).status_code == 200
    sent = upstream(gateway, tag)[0].headers
    assert (sent["cf-aig-otel-trace-id"], sent["cf-aig-otel-parent-span-id"]) == (TRACE_ID, SPAN_ID)
