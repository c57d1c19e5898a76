"""IDENTITY_METADATA over real sockets: the verified caller, the source, the scheduler job reach
the gateway as reserved cf-aig-metadata keys and the request's log line; a request cannot set
them itself, and its own entries fill only what is left of the gateway's 5."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import event_server, pubsub_data, send
from tests.support.servers import ServerFactory

IDENTITY = {"IDENTITY_METADATA": "caller,source,job"}


def jwt(email: str) -> str:
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'email': email})}.c2ln"


def sent_metadata(gateway: GatewayEmulator, nonce: str) -> dict[str, Any]:
    found = [r for r in gateway.requests if nonce in r.headers.get("cf-aig-metadata", "")]
    assert len(found) == 1, found
    metadata = json.loads(found[0].headers["cf-aig-metadata"])
    assert isinstance(metadata, dict)
    return metadata


def test_caller_source_and_job_go_upstream_and_to_the_log(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """A scheduler call: the token's email, `scheduler`, the job name, then the request's own."""
    nonce, request_id = uuid.uuid4().hex, f"id-{uuid.uuid4().hex[:8]}"
    server = serve(**IDENTITY)
    headers = {
        "authorization": f"Bearer {jwt('nightly@proj.iam.gserviceaccount.com')}",
        "x-cloudscheduler-jobname": "nightly-digest",
    }
    body = {"prompt": "hi", "request_id": request_id, "metadata": {"n": nonce}, "deliver": False}
    response = server.post(body, headers=headers)
    assert response.status_code == 200, response.text
    assert sent_metadata(gateway, nonce) == {
        "caller": "nightly@proj.iam.gserviceaccount.com",
        "source": "scheduler",
        "job": "nightly-digest",
        "n": nonce,
    }
    line = server.log_for(request_id)
    assert (line["caller"], line["source"], line["job"]) == (
        "nightly@proj.iam.gserviceaccount.com",
        "scheduler",
        "nightly-digest",
    )


def test_the_platforms_header_is_read_first(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    nonce = uuid.uuid4().hex
    headers = {
        "x-serverless-authorization": f"Bearer {jwt('verified@example.com')}",
        "authorization": f"Bearer {jwt('app-level@example.com')}",
    }
    response = serve(**IDENTITY).post({"prompt": "hi", "metadata": {"n": nonce}}, headers=headers)
    assert response.status_code == 200, response.text
    assert sent_metadata(gateway, nonce) == {
        "caller": "verified@example.com",
        "source": "http",
        "n": nonce,
    }


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"caller": "ceo@example.com"}, "metadata.caller"),
        ({"job": "someone-elses"}, "metadata.job"),
        ({"a": 1, "b": 2, "c": 3}, "at most 2"),
    ],
)
def test_identity_cannot_be_spoofed_or_pushed_out(
    serve: ServerFactory, gateway: GatewayEmulator, metadata: dict[str, Any], named: str
) -> None:
    before = len(gateway.requests)
    response = serve(**IDENTITY).post({"prompt": "hi", "metadata": metadata})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert named in error["message"]
    assert len(gateway.requests) == before  # refused before anything went upstream


def test_without_the_setting_metadata_is_the_callers(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    nonce = uuid.uuid4().hex
    headers = {"authorization": f"Bearer {jwt('someone@example.com')}"}
    response = serve().post({"prompt": "hi", "metadata": {"caller": nonce}}, headers=headers)
    assert response.status_code == 200, response.text
    assert sent_metadata(gateway, nonce) == {"caller": nonce}


def test_events_say_pubsub(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    nonce = uuid.uuid4().hex
    server = event_server(serve, IDENTITY_METADATA="source,caller")
    response = send(server, pubsub_data({"prompt": "hi", "metadata": {"n": nonce}}, nonce))
    assert response.status_code < 300, response.text
    assert sent_metadata(gateway, nonce) == {"source": "pubsub", "n": nonce}
