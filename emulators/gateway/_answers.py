"""What the gateway emulator records and answers: the recorded request, an answer, and small
readers of what a request carries (its JSON, its metadata header, a delay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from emulators.gateway._errors import JsonObject
from emulators.gateway._plan import Plan
from emulators.gateway._render import chat_completion, json_bytes, response_object
from emulators.gateway._routes import served_tier

__all__ = [
    "JSON",
    "Answer",
    "RecordedRequest",
    "delay_seconds",
    "json_answer",
    "metadata",
    "render_body",
    "try_json",
]

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator received it."""

    method: str
    path: str  # as sent, query included
    headers: dict[str, str]  # lower-case names
    json: Any  # the parsed body, or None when it was empty or not JSON

    def to_dict(self) -> JsonObject:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "json": self.json,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str = JSON


def json_answer(status: int, body: JsonObject) -> Answer:
    return Answer(status, json_bytes(body))


def try_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None


def delay_seconds(delay_ms: Any) -> float:
    """A delay in ms (number or numeric string) as seconds; anything else means no delay."""
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int | float | str):
        return 0.0
    try:
        return max(float(delay_ms) / 1000, 0.0)
    except ValueError:
        return 0.0


def metadata(header: str | None) -> JsonObject:
    """``cf-aig-metadata`` as a dict; anything but a JSON object counts as no metadata."""
    if not header:
        return {}
    value = try_json(header.encode())
    return value if isinstance(value, dict) else {}


def render_body(api: str, plan: Plan, body: JsonObject) -> JsonObject:
    if api == "chat/completions":
        return chat_completion(plan, served_tier(body))
    return response_object(plan, body, final=True)
