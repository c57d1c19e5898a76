"""An exception escaping the HTTP adapter still answers the contract: one JSON answer and one
log line with its traceback, in process."""

from __future__ import annotations

import json
from typing import Any

import pytest


def test_a_bug_in_the_handler_still_answers_the_contract(caplog: pytest.LogCaptureFixture) -> None:
    """An exception escaping the HTTP adapter is one JSON answer (internal, 500) and one log
    line with its traceback, never the framework's text/plain page."""
    import asyncio

    from handlers.http import handle_http

    class Broken:
        method = "POST"

        @property
        def headers(self) -> Any:
            raise RuntimeError("a bug in the adapter")

    with caplog.at_level("ERROR", logger="relay"):
        response = asyncio.run(handle_http(Broken()))  # type: ignore[arg-type]
    body = json.loads(bytes(response.body))
    assert (response.status_code, response.media_type) == (500, "application/json")
    assert body["error"]["type"] == "internal"
    assert body["request_id"] in body["error"]["message"]
    (record,) = [r for r in caplog.records if r.getMessage() == "unexpected failure"]
    assert record.exc_info is not None and "a bug in the adapter" in str(record.exc_info[1])
