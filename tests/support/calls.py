"""How tests call a function process: a Pub/Sub push the way Eventarc delivers it, and a
streaming POST read event by event."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx

from relay.streaming import SSEParser
from tests.support.openapi import check_exchange
from tests.support.servers import FunctionServer, ServerFactory

EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"
SOURCE = "//pubsub.googleapis.com/projects/test-project/topics/prompts"


def pubsub_data(
    body: Any, message_id: str, attributes: dict[str, str] | None = None, raw: bytes | None = None
) -> dict[str, Any]:
    payload = raw if raw is not None else json.dumps(body).encode()
    return {
        "message": {
            "@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
            "attributes": attributes or {},
            "data": base64.b64encode(payload).decode(),
            "messageId": message_id,
            "publishTime": "2026-11-25T09:00:00.000Z",
        },
        "subscription": "projects/test-project/subscriptions/prompts-sub",
    }


def send(
    server: FunctionServer, data: dict[str, Any], mode: str = "binary", event_id: str | None = None
) -> httpx.Response:
    """Deliver one event the way Eventarc's push does, in `binary` or `structured` mode."""
    event_id = event_id or data["message"]["messageId"]
    if mode == "binary":
        headers = {
            "ce-specversion": "1.0",
            "ce-type": EVENT_TYPE,
            "ce-source": SOURCE,
            "ce-id": event_id,
            "ce-time": "2026-11-25T09:00:00Z",
            "content-type": "application/json",
        }
        content = json.dumps(data).encode()
    else:
        headers = {"content-type": "application/cloudevents+json"}
        content = json.dumps(
            {
                "specversion": "1.0",
                "type": EVENT_TYPE,
                "source": SOURCE,
                "id": event_id,
                "time": "2026-11-25T09:00:00Z",
                "datacontenttype": "application/json",
                "data": data,
            }
        ).encode()
    return httpx.post(server.url, content=content, headers=headers, timeout=60)


def event_server(serve: ServerFactory, **env: str) -> FunctionServer:
    return serve(target="prompt_event", **env)


def stream(
    server: FunctionServer, body: dict[str, Any]
) -> tuple[httpx.Response, list[tuple[str, Any]], float]:
    """POST a streaming request; return the response, its events and the time to first byte."""
    events: list[tuple[str, Any]] = []
    parser = SSEParser()
    started = time.monotonic()
    first_byte = 0.0
    chunks = []
    with httpx.stream("POST", server.url, json=body, timeout=30) as response:
        for chunk in response.iter_bytes():
            first_byte = first_byte or time.monotonic() - started
            chunks.append(chunk)
            events.extend((e.name, json.loads(e.data)) for e in parser.feed(chunk))
    check_exchange(response, b"".join(chunks))
    return response, events, first_byte
