"""Bulk input lines and output lines: pure logic (relay/bulk/_lines.py)."""

from __future__ import annotations

import json

import pytest

from relay import InvalidRequest
from relay.bulk import MAX_BAD_LINES_SHOWN, openai_line, output_line, parse_bulk_file


def jsonl(*lines: object) -> bytes:
    return "\n".join(json.dumps(line) for line in lines).encode()


def test_own_request_lines_keep_their_body() -> None:
    items = parse_bulk_file(jsonl({"custom_id": "a", "prompt": "hi", "model": "m"}), 10)
    assert [(i.custom_id, json.loads(i.body), i.openai_url) for i in items] == [
        ("a", {"prompt": "hi", "model": "m"}, None)
    ]


def test_openai_chat_line_mapped_with_provider_parameters() -> None:
    line = {
        "custom_id": "c1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 20,
            "seed": 7,
            "logprobs": True,
        },
    }
    (item,) = parse_bulk_file(jsonl(line), 10)
    assert item.openai_url == "/v1/chat/completions"
    assert json.loads(item.body) == {
        "api": "chat",
        "include_raw": True,
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_output_tokens": 20,
        "extra_body": {"seed": 7, "logprobs": True},
    }


def test_openai_responses_line_mapped() -> None:
    line = {
        "custom_id": "r1",
        "method": "POST",
        "url": "/v1/responses",
        "body": {"model": "gpt-4o-mini", "input": "hi", "instructions": "be brief"},
    }
    (item,) = parse_bulk_file(jsonl(line), 10)
    assert json.loads(item.body) == {
        "api": "responses",
        "include_raw": True,
        "model": "gpt-4o-mini",
        "input": "hi",
        "instructions": "be brief",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"custom_id": "x", "method": "GET", "url": "/v1/responses", "body": {}}, "method"),
        ({"custom_id": "x", "method": "POST", "url": "/v1/responses", "body": []}, "body:"),
        (
            {
                "custom_id": "x",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"messages": [{"role": "user", "content": "a"}], "n": 3},
            },
            "body.n: not supported",
        ),
        ({"custom_id": "x", "prompt": "a", "stream": True}, "cannot stream"),
        ({"custom_id": "_bulk", "prompt": "a"}, "reserved"),
        ({"custom_id": "a/b", "prompt": "a"}, "custom_id: required"),
        ({"custom_id": "x", "prompt": ""}, "prompt"),
    ],
)
def test_bad_lines_named(line: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_bulk_file(jsonl(line), 10)
    assert "line 1: " in caught.value.message and message in caught.value.message


def test_only_the_first_bad_lines_listed() -> None:
    data = b"\n".join(b"nope" for _ in range(25))
    with pytest.raises(InvalidRequest) as caught:
        parse_bulk_file(data, 100)
    text = caught.value.message
    assert text.startswith("bulk input has 25 bad line(s) (and 15 more)")
    assert text.count("not valid JSON") == MAX_BAD_LINES_SHOWN
    assert "line 10:" in text and "line 11:" not in text


def test_blank_lines_skipped_and_limits() -> None:
    assert len(parse_bulk_file(b'\n{"custom_id": "a", "prompt": "x"}\n\n', 10)) == 1
    with pytest.raises(InvalidRequest, match="no lines"):
        parse_bulk_file(b"\n\n", 10)
    with pytest.raises(InvalidRequest, match="the limit is 1"):
        parse_bulk_file(
            jsonl({"custom_id": "a", "prompt": "x"}, {"custom_id": "b", "prompt": "y"}), 1
        )


def test_output_lines() -> None:
    ok = output_line("a", {"ok": True, "output_text": "x\u2028y"})
    assert ok.endswith(b"\n") and ok.count(b"\n") == 1 and ok.isascii()
    assert json.loads(ok) == {"custom_id": "a", "result": {"ok": True, "output_text": "x\u2028y"}}
    error = {"type": "upstream_rejected", "message": "no"}
    failed = json.loads(output_line("b", {"ok": False, "error": error}))
    assert failed == {"custom_id": "b", "error": error}
    theirs = json.loads(openai_line(failed))
    assert theirs == {
        "id": "batch_req_b",
        "custom_id": "b",
        "response": None,
        "error": {"code": "upstream_rejected", "message": "no"},
    }
    raw = {"object": "response", "id": "resp_1"}
    good = json.loads(openai_line({"custom_id": "a", "result": {"raw": raw, "request_id": "a"}}))
    assert good["response"] == {"status_code": 200, "request_id": "a", "body": raw}


def test_bulk_bodies_told_from_prompts() -> None:
    from relay.bulk import decode_bulk_body

    assert decode_bulk_body(b'{"prompt": "bulk \\"bulk\\": x"}') is None
    assert decode_bulk_body(b'{"prompt": "hi"}') is None
    assert decode_bulk_body(b"not json bulk") is None
    found = decode_bulk_body(
        b'{"deliver": true, "bulk": {"input": "gs://b/i", "output": "gs://b/o/"}}'
    )
    assert found is not None and getattr(found, "input", None) == "gs://b/i"
    status = decode_bulk_body(b' {"bulk_status": {"output": "gs://b/o/"}}')
    assert status is not None and status.output == "gs://b/o/"
    with pytest.raises(InvalidRequest, match="unknown field `prompt`"):
        decode_bulk_body(b'{"bulk": {"input": "gs://b/i", "output": "gs://b/o/"}, "prompt": "x"}')
    with pytest.raises(InvalidRequest, match="exactly one"):
        decode_bulk_body(b'{"bulk": {"input": "a", "output": "b"}, "bulk_status": {"output": "c"}}')
