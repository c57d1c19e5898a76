"""Pub/Sub push bodies, and posting them to a `prompt_push` process as a push subscription
does."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

from tests.support import servers as _servers
from tests.support.servers import FunctionServer

__all__ = ["gateway_calls", "lines_for", "nonce", "oidc_token", "push", "push_body"]


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def push_body(
    body: Any,
    message_id: str,
    attributes: dict[str, str] | None = None,
    *,
    raw: bytes | None = None,
    attempt: int | None = None,
) -> dict[str, Any]:
    """The standard push body for one message whose data is `body` as JSON (or `raw`)."""
    payload = raw if raw is not None else json.dumps(body).encode()
    envelope: dict[str, Any] = {
        "message": {
            "attributes": attributes or {},
            "data": base64.b64encode(payload).decode(),
            "messageId": message_id,
            "publishTime": "2026-11-25T09:00:00.000Z",
        },
        "subscription": "projects/test-project/subscriptions/prompts-push",
    }
    if attempt is not None:
        envelope["deliveryAttempt"] = attempt
    return envelope


def push(
    server: FunctionServer,
    envelope: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST one push body as Pub/Sub does (no `ce-` headers)."""
    content = raw if raw is not None else json.dumps(envelope).encode()
    response = httpx.post(
        server.url,
        content=content,
        headers={"content-type": "application/json", **(headers or {})},
        timeout=60,
    )
    # Scanned for secrets at the end of the session, as every other answer is.
    _servers.ANSWERS.append(f"{response.headers}\n{response.text}")
    return response


def oidc_token(email: str) -> str:
    """An ID token as Cloud Run passes it on: readable claims, signature removed."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"iss": "https://accounts.google.com", "email": email, "email_verified": True}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.SIGNATURE_REMOVED_BY_GOOGLE"


def lines_for(server: FunctionServer, message_id: str) -> list[dict[str, Any]]:
    return [line for line in server.log_lines() if line.get("pubsub_message_id") == message_id]


def gateway_calls(requests: Any, marker: str) -> int:
    """Requests for `marker` that reached the gateway emulator."""
    return sum(1 for r in requests if marker in r.headers.get("cf-aig-metadata", ""))
