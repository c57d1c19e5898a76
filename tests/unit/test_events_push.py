"""Reading Pub/Sub messages for the event core: the push envelope, the pusher's identity, and
the JSON form both triggers carry."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from handlers.push import push_identity
from relay import InvalidRequest, PayloadTooLarge, TraceContext
from relay.events import MAX_DATA_BYTES, decode_push, message_from_json

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def token(claims: Any) -> str:
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.SIGNATURE_REMOVED_BY_GOOGLE"


def test_push_body_read_whole() -> None:
    """Data decoded, attributes, delivery attempt, the publisher's trace over the request's."""
    body = {
        "message": {
            "data": base64.b64encode(b'{"prompt": "hi"}').decode(),
            "attributes": {"request_id": "r-1", "traceparent": TRACE},
            "messageId": "42",
            "publishTime": "2026-11-25T09:00:00.000Z",
        },
        "subscription": "projects/p/subscriptions/s",
        "deliveryAttempt": 3,
    }
    other = TraceContext("1" * 32, "2" * 16)
    message = decode_push(json.dumps(body).encode(), trace=other, pushed_by="a@b.c")
    assert message.message_id == "42" and message.data == b'{"prompt": "hi"}'
    assert message.attributes["request_id"] == "r-1"
    assert message.delivery_attempt == 3 and message.pushed_by == "a@b.c"
    assert (
        message.trace is not None and message.trace.trace_id == "0af7651916cd43dd8448eb211c80319c"
    )
    del body["message"]["attributes"]  # type: ignore[attr-defined]
    assert decode_push(json.dumps(body).encode(), trace=other).trace == other


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b'"x"',
        b'{"message": []}',
        b'{"message": {"messageId": 7}}',
        b'{"message": {"messageId": ""}}',
        b'{"message": {"messageId": "1"}, "subscription": 1}',
        b'{"message": {"messageId": "1"}, "deliveryAttempt": true}',
    ],
)
def test_not_a_push_body(body: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_push(body)
    assert caught.value.message.startswith("push body")


def test_bad_data_is_kept_as_the_error_to_deliver() -> None:
    """Data that cannot be decoded does not refuse the push: the message is acknowledged and
    delivered as that error, as on the CloudEvent path."""
    message = message_from_json({"messageId": "1", "data": "%%%"}, fallback_id="x")
    assert isinstance(message.data, InvalidRequest)
    huge = "A" * ((MAX_DATA_BYTES + 2) // 3 * 4 + 4)
    assert isinstance(message_from_json({"data": huge}, fallback_id="x").data, PayloadTooLarge)
    assert message_from_json({}, fallback_id="event-id").message_id == "event-id"


def test_identity_from_the_checked_header_first() -> None:
    checked = f"Bearer {token({'email': 'invoker@p.iam.gserviceaccount.com'})}"
    other = f"Bearer {token({'email': 'other@example.com'})}"
    both = {"x-serverless-authorization": checked, "authorization": other}
    assert push_identity(both) == "invoker@p.iam.gserviceaccount.com"
    assert push_identity({"authorization": other}) == "other@example.com"
    # Present but unreadable: Authorization is not trusted in its place.
    assert push_identity({"x-serverless-authorization": "Bearer x", "authorization": other}) is None


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic abc",
        "Bearer a.b",
        "Bearer a.%%%.c",
        f"Bearer {token(['x'])}",
        f"Bearer {token({'sub': '1'})}",
        f"Bearer {token({'email': 'a@b.c' * 100})}",
    ],
)
def test_no_identity(header: str) -> None:
    assert push_identity({"authorization": header}) is None
