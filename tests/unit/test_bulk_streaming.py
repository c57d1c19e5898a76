"""Bulk input read as a stream (relay/bulk/_lines.py): lines split across chunks, the line
limit checked while reading, over-long lines skipped without being held."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from relay import InvalidRequest
from relay.bulk import check_lines, parse_bulk_file, split_lines


def test_lines_split_across_chunks_whatever_the_chunk_size() -> None:
    data = b'{"a": 1}\n\n{"bb": 22}\nlast-no-newline'
    for chunk in range(1, len(data) + 2):
        lines = list(split_lines(io.BytesIO(data).read, chunk, 100))
        assert lines == [b'{"a": 1}', b"", b'{"bb": 22}', b"last-no-newline"], chunk


def test_a_line_longer_than_the_limit_is_skipped_not_held() -> None:
    data = b"short\n" + b"x" * 50 + b"\nafter\n" + b"y" * 50
    assert list(split_lines(io.BytesIO(data).read, 7, 20)) == [b"short", None, b"after", None]


def test_line_limit_stops_reading_at_the_first_line_past_it() -> None:
    """The file is refused as soon as a line over the limit is read: the rest is never read."""
    read: list[int] = []

    def lines() -> Iterator[bytes]:
        for i in range(1_000_000):
            read.append(i)
            yield json.dumps({"custom_id": f"c{i}", "prompt": "x"}).encode()

    with pytest.raises(InvalidRequest, match="more than 3 lines; the limit is 3"):
        check_lines(lines(), 3)
    assert len(read) == 4


def test_over_long_line_is_a_bad_line() -> None:
    with pytest.raises(InvalidRequest, match="line 2: longer than MAX_BODY_BYTES"):
        check_lines([b'{"custom_id": "a", "prompt": "x"}', None], 10)


@pytest.mark.parametrize("stream", [False, None])
def test_openai_line_saying_it_does_not_stream_is_accepted(stream: bool | None) -> None:
    line = {
        "custom_id": "c",
        "method": "POST",
        "url": "/v1/responses",
        "body": {"model": "m", "input": "hi", "stream": stream},
    }
    (item,) = parse_bulk_file(json.dumps(line).encode(), 10)
    assert "stream" not in json.loads(item.body).get("extra_body", {})


def test_openai_line_asking_to_stream_is_refused() -> None:
    line = {
        "custom_id": "c",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True},
    }
    with pytest.raises(InvalidRequest, match=r"line 1: body\.stream: a bulk line cannot stream"):
        parse_bulk_file(json.dumps(line).encode(), 10)
