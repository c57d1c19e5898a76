"""IDENTITY_METADATA's pure parts: the setting, the caller's email from the verified ID token,
and the merge that keeps the function's keys unspoofable within the gateway's 5."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from relay.errors import ConfigError, InvalidRequest
from relay.identity import Identity, caller_email, merge_metadata, parse_identity_metadata


def jwt(payload: Any) -> str:
    def part(value: Any) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(payload)}.c2lnbmF0dXJl"


def test_setting_is_a_comma_list_of_known_keys() -> None:
    assert parse_identity_metadata(None) == ()
    assert parse_identity_metadata(" caller, source ,job,caller") == ("caller", "source", "job")
    with pytest.raises(ConfigError, match="IDENTITY_METADATA: 'user'"):
        parse_identity_metadata("caller,user")


def test_caller_prefers_the_serverless_header() -> None:
    serverless = f"Bearer {jwt({'email': 'job@p.iam.gserviceaccount.com'})}"
    authorization = f"Bearer {jwt({'email': 'someone@example.com'})}"
    assert caller_email(serverless, authorization) == "job@p.iam.gserviceaccount.com"
    assert caller_email(None, authorization) == "someone@example.com"
    assert caller_email("Bearer not-a-jwt", authorization) is None  # the platform's token wins


@pytest.mark.parametrize(
    "value",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        f"Bearer {jwt(['not', 'an', 'object'])}",
        f"Bearer {jwt({'sub': '123'})}",
        f"Bearer {jwt({'email': 'with space@example.com'})}",
        f"Bearer {jwt({'email': 'x' * 300})}",
        "Bearer a.%%%.c",
        "Bearer " + "a" * 9000,
    ],
)
def test_no_usable_token_no_caller(value: str | None) -> None:
    assert caller_email(None, value) is None


def test_identity_fields_are_the_named_ones_with_values() -> None:
    identity = Identity(caller="a@b.c", source="scheduler", job="nightly")
    assert identity.fields(("caller", "source", "bulk")) == {
        "caller": "a@b.c",
        "source": "scheduler",
    }


def test_reserved_keys_cannot_be_set_by_the_request() -> None:
    reserved = ("caller", "source")
    with pytest.raises(InvalidRequest, match=r"metadata\.caller: reserved"):
        merge_metadata({"caller": "admin@example.com"}, {"source": "http"}, reserved)


def test_request_entries_fill_only_what_is_left() -> None:
    reserved = ("caller", "source", "job")
    own = {"team": "a", "env": "prod"}
    merged = merge_metadata(own, {"caller": "a@b.c", "source": "http"}, reserved)
    assert merged == {"caller": "a@b.c", "source": "http", "team": "a", "env": "prod"}
    with pytest.raises(InvalidRequest, match="at most 2 entries"):
        merge_metadata({**own, "x": 1}, {"source": "http"}, reserved)


def test_nothing_to_send() -> None:
    assert merge_metadata(None, {}, ()) is None
    assert merge_metadata({"a": 1}, {}, ()) == {"a": 1}
