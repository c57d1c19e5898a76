"""`prompt_event` over real sockets: Pub/Sub CloudEvents in both content modes, against a
functions-framework process and both emulators; what both Pub/Sub triggers do alike is tested
over both in test_pubsub_triggers.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import event_server, pubsub_data, send
from tests.support.servers import FunctionServer, ServerFactory


def lines_for(server: FunctionServer, message_id: str) -> list[dict[str, Any]]:
    return [line for line in server.log_lines() if line.get("pubsub_message_id") == message_id]


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_event_runs_the_prompt(serve: ServerFactory, gateway: GatewayEmulator, mode: str) -> None:
    """A message in either content mode runs the prompt; request_id comes from the attribute;
    the result is logged without its text."""
    server = event_server(serve)
    message_id = uuid.uuid4().hex
    request_id = f"evt-{message_id[:8]}"
    response = send(
        server,
        pubsub_data(
            {"prompt": "from pubsub", "api": "chat"}, message_id, {"request_id": request_id}
        ),
        mode,
    )
    assert response.status_code == 200
    line = server.log_for(request_id)
    assert (line["outcome"], line["source"], line["pubsub_message_id"]) == (
        "ok",
        "pubsub",
        message_id,
    )
    result = next(x for x in lines_for(server, message_id) if x["message"] == "event result")
    assert result["result"]["request_id"] == request_id
    assert result["result"]["usage"]["total_tokens"] > 0
    assert "output_text" not in result["result"]


def test_not_a_pubsub_message_is_acknowledged(serve: ServerFactory) -> None:
    """An event without a Pub/Sub message is logged and acknowledged."""
    server = event_server(serve)
    response = send(
        server,
        {"something": "else", "message": None, "x": {"messageId": "1"}},
        event_id=uuid.uuid4().hex,
    )
    assert response.status_code == 200
