"""A hostile world over real sockets: an upstream that echoes our credentials back, callers that
hang up or stop reading, and inputs shaped to cost far more than their size.

Each test drives a functions-framework process; the upstream is tests/support/hostile.py.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bench import tree_peak_kib
from tests.support.constants import OPENAI_KEY, TOKEN
from tests.support.hostile import HostileUpstream
from tests.support.servers import ANSWERS, FunctionServer, ServerFactory

# A run of this many characters of a credential counts as a leak (the contract's rule).
PIECE = 8


def pieces(*secrets: str) -> set[str]:
    return {s[i : i + PIECE] for s in secrets for i in range(len(s) - PIECE + 1)}


def leaks(text: str) -> list[str]:
    """Every piece of the gateway token or the OpenAI key found in `text`."""
    return sorted(p for p in pieces(TOKEN, OPENAI_KEY) if p in text)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    upstream = HostileUpstream()
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def function(serve: ServerFactory, hostile: HostileUpstream) -> FunctionServer:
    """Chat by default, a short budget, one retry; token and key from Secret Manager."""
    return serve(
        AIG_BASE_URL=hostile.base_url,
        DEFAULT_API="chat",
        UPSTREAM_TIMEOUT_SECONDS="3",
        MAX_RETRIES="1",
        BODY_TIMEOUT_SECONDS="1",
    )


def ask(mode: str, **fields: Any) -> dict[str, Any]:
    return {"prompt": "hi", "metadata": {"hostile": mode}, "request_id": new_id(), **fields}


def new_id() -> str:
    return uuid.uuid4().hex


def log_text(server: FunctionServer) -> str:
    return server.log_path.read_text(errors="replace")


# -- credentials -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["echo_code", "echo_code_401", "echo_code_500", "echo_internal"])
def test_echoed_credentials_never_reach_the_error(function: FunctionServer, mode: str) -> None:
    """An upstream that puts our credential into error.code (or internalCode) gets none of it
    back to the caller, in any field, nor into the log line."""
    body = ask(mode)
    response = function.post(body)
    error = response.json()["error"]
    assert response.status_code >= 400
    assert leaks(response.text) == []
    assert error["upstream_code"] in (None, "[REDACTED]")
    assert leaks(json.dumps(function.log_for(body["request_id"]))) == []


def test_scrubbed_before_cut(function: FunctionServer) -> None:
    """A message padded so the 500-character cut lands inside the token returns no part of it."""
    body = ask("padded")
    response = function.post(body)
    assert response.status_code == 400
    assert "[REDACTED]" in response.json()["error"]["message"]
    assert leaks(response.text) == []
    assert leaks(json.dumps(function.log_for(body["request_id"]))) == []


def test_include_raw_is_scrubbed(function: FunctionServer) -> None:
    """A 200 body with the key and the token in any field (keys too) is relayed without them."""
    response = function.post(ask("echo_200", include_raw=True))
    result = response.json()
    assert response.status_code == 200, response.text
    assert leaks(response.text) == []
    assert "[REDACTED]" in result["output_text"]
    assert result["raw"]["system_fingerprint"] == "[REDACTED]"


def test_stream_error_event_is_scrubbed(function: FunctionServer) -> None:
    response = function.post(ask("sse_error", stream=True))
    assert "event: error" in response.text
    assert leaks(response.text) == []


def test_credential_split_across_deltas_is_caught(function: FunctionServer) -> None:
    """Two characters per delta: each delta alone is harmless, together they are the token."""
    response = function.post(ask("sse_split", stream=True))
    deltas = [
        json.loads(line.removeprefix("data: "))["text"]
        for block in response.text.split("\n\n")
        if block.startswith("event: delta")
        for line in block.splitlines()
        if line.startswith("data: ")
    ]
    assert deltas
    assert leaks("".join(deltas)) == []
    assert "".join(deltas).startswith("token ")
    assert leaks(response.text) == []


# -- callers that leave ----------------------------------------------------------------------------


def test_hang_up_cancels_the_upstream_call(
    function: FunctionServer, hostile: HostileUpstream
) -> None:
    body = ask("stall")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(function.url, json=body, timeout=0.5)
    line = function.log_for(body["request_id"])
    assert line["outcome"] == "client_disconnected"
    seen = _wait_for(lambda: [s for s in hostile.seen("stall") if s.ended], within=5)
    assert seen[-1].cut_by_client, "the upstream call was left running"


def test_hang_up_during_a_retry_wait_retries_nothing(
    function: FunctionServer, hostile: HostileUpstream
) -> None:
    """429 with Retry-After: 2, then the caller leaves: the retry is never sent."""
    body = ask("retry_after")
    before = len(hostile.seen("retry_after"))
    # The caller leaves 1 s in: after the first attempt (on a loaded machine it can take a few
    # hundred ms to reach upstream), before the retry the 2 s Retry-After would send.
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(function.url, json=body, timeout=1.0)
    line = function.log_for(body["request_id"])
    assert (line["outcome"], line["attempts"]) == ("client_disconnected", 1)
    # The retry would have gone out 2 s after the first attempt; look until well past that.
    until = time.monotonic() + 3.0
    while time.monotonic() < until:
        assert len(hostile.seen("retry_after")) <= before + 1, "a retry went out for nobody"
        time.sleep(0.1)  # polling interval while watching for a retry that must not come
    assert len(hostile.seen("retry_after")) == before + 1, "the first attempt never went out"


def test_reader_that_stops_reading_is_cut_off(
    function: FunctionServer, hostile: HostileUpstream
) -> None:
    """A streaming caller that stops reading holds the request no longer than the budget
    (3 s) plus the reader's grace (5 s)."""
    body = json.dumps(ask("sse_forever", stream=True)).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", function.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(
            b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock.recv(100)  # the stream has started; now stop reading
        seen = _wait_for(lambda: [s for s in hostile.seen("sse_forever") if s.ended], within=20)
    assert seen[-1].cut_by_client
    assert seen[-1].ended is not None and seen[-1].ended - started < 3 + 5 + 3


def _whole_answer(answer: bytes) -> bool:
    """Whether `answer` holds an HTTP head and all the body its content-length promises."""
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def test_trickled_body_is_cut_off(function: FunctionServer) -> None:
    """A body sent a byte at a time, slowly, gets 408 once BODY_TIMEOUT_SECONDS (1 s) passes."""
    with socket.create_connection(("127.0.0.1", function.port), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 1000\r\n\r\n{"
        )
        answer = b""
        # Far longer than BODY_TIMEOUT_SECONDS, so that a loaded machine still answers in it.
        until = time.monotonic() + 20
        sock.settimeout(0.3)
        while not _whole_answer(answer) and time.monotonic() < until:
            try:
                if not answer:
                    sock.sendall(b" ")  # trickle until the server starts answering
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"BODY_TIMEOUT_SECONDS" in answer


# -- inputs that cost more than their size ---------------------------------------------------------


def test_json_in_place_of_a_stream_is_capped(function: FunctionServer) -> None:
    """stream: true, and the upstream answers 40 MB of JSON: refused at the cap, not read whole."""
    response = function.post(ask("huge_json", stream=True))
    assert "event: error" in response.text
    assert "too large" in response.text


def test_model_name_is_bounded(function: FunctionServer) -> None:
    body = ask("ok", model="m" * 2_000_000)
    response = function.post(body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("model:")
    assert max(len(line) for line in log_text(function).splitlines()) < 64 * 1024


def test_wide_body_with_a_deep_part_names_the_part(function: FunctionServer) -> None:
    wide = b",".join([b"{}"] * 1_000_000)
    deep = b"[" * 70 + b"]" * 70
    raw = (
        b'{"extra_body": {"a": ['
        + wide
        + b"]}, "
        + b'"input": ['
        + deep
        + b'], "api": "responses"}'
    )
    response = function.post(raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("input is nested too deeply")


def test_unusable_200_is_not_retried(function: FunctionServer, hostile: HostileUpstream) -> None:
    before = len(hostile.seen("not_json_200"))
    response = function.post(ask("not_json_200"))
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"
    assert len(hostile.seen("not_json_200")) == before + 1


def test_compressed_answer_is_never_unpacked(
    function: FunctionServer, hostile: HostileUpstream
) -> None:
    # 500 KB on the wire that would unpack to 512 MiB: refused as unusable, memory unmoved.
    peak_before = tree_peak_kib(function.process.pid)
    response = function.post(ask("gzip_bomb_200"))
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"
    [seen] = hostile.seen("gzip_bomb_200")
    assert seen.accept_encoding == "identity"
    assert tree_peak_kib(function.process.pid) - peak_before < 64 * 1024


def test_oversized_event_is_acknowledged(serve: ServerFactory, hostile: HostileUpstream) -> None:
    server = serve("prompt_event", AIG_BASE_URL=hostile.base_url, MAX_BODY_BYTES="2048")
    before = len(hostile.log.requests)
    message_id = new_id()
    payload = json.dumps({"prompt": "x" * 4096}).encode()
    data = {
        "message": {"data": base64.b64encode(payload).decode(), "messageId": message_id},
        "subscription": "projects/test-project/subscriptions/s",
    }
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": "//pubsub.googleapis.com/projects/test-project/topics/prompts",
        "ce-id": message_id,
        "content-type": "application/json",
    }
    response = httpx.post(server.url, content=json.dumps(data), headers=headers, timeout=30)
    ANSWERS.append(response.text)
    assert response.status_code == 200  # acknowledged: a redelivery would be refused again
    line = _wait_for(
        lambda: [
            entry
            for entry in server.log_lines()
            if entry.get("pubsub_message_id") == message_id
            and entry.get("outcome") == "payload_too_large"
        ],
        within=5,
    )
    assert "MAX_BODY_BYTES" in line[0]["message"]
    assert len(hostile.log.requests) == before, "an oversized message was run"


def _wait_for(probe: Callable[[], list[Any]], within: float) -> list[Any]:
    until = time.monotonic() + within
    while not (found := probe()):
        if time.monotonic() > until:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)  # polling interval
    return found
