"""The gateway's per-request controls and signals, as the emulator checks and plays them.

Request headers it validates (a value the real gateway would not understand is answered with a
gateway 400, code ``INVALID_CONTROL_CODE``, so a test sees the mistake instead of a silent pass):

- ``cf-aig-request-timeout``: a positive whole number of milliseconds;
- ``cf-aig-collect-log``, ``cf-aig-collect-log-payload``, ``cf-aig-zdr``: ``true`` or ``false``;
- ``cf-aig-byok-alias``: 1 to 64 of ``A-Z a-z 0-9 . _ -``;
- ``cf-aig-otel-trace-id``: 32 lowercase hex digits, ``cf-aig-otel-parent-span-id``: 16, and the
  span only together with the trace.

Response headers it can add (fault-script suffixes, see ``_faults``): ``cf-aig-step``,
``cf-aig-model``, ``cf-aig-provider`` (a dynamic route or fallback answered) and ``cf-aig-dlp``
(a DLP policy matched: JSON ``{"action", "findings": [{"profile", "policy_ids", "check"}]}``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from emulators.gateway import _errors
from emulators.gateway._answers import Answer, json_answer
from emulators.gateway._errors import JsonObject, gateway_error

__all__ = ["INVALID_CONTROL_CODE", "check_auth", "check_controls", "dlp_header"]

# Not a documented Cloudflare code: the emulator's own, for a control header it cannot parse.
INVALID_CONTROL_CODE = 2999
_BOOLEAN_HEADERS = ("cf-aig-collect-log", "cf-aig-collect-log-payload", "cf-aig-zdr")
_PATTERNS = {
    "cf-aig-request-timeout": re.compile(r"[1-9][0-9]{0,9}"),
    "cf-aig-byok-alias": re.compile(r"[A-Za-z0-9._-]{1,64}"),
    "cf-aig-otel-trace-id": re.compile(r"[0-9a-f]{32}"),
    "cf-aig-otel-parent-span-id": re.compile(r"[0-9a-f]{16}"),
}
_encode = msgspec.json.Encoder().encode


def check_auth(
    headers: Mapping[str, str], token: str, openai_key: str | None, *, require_key: bool
) -> Answer | None:
    """The gateway's credential checks: its own token, then the provider key (BYOK when none)."""
    if headers.get("cf-aig-authorization") != f"Bearer {token}":
        return json_answer(401, _errors.GATEWAY_UNAUTHORIZED)
    authorization = headers.get("authorization")
    if authorization is not None:
        if openai_key is None or authorization != f"Bearer {openai_key}":
            key = authorization.removeprefix("Bearer ").strip()
            return json_answer(401, _errors.invalid_api_key(key))
    elif require_key:
        return json_answer(400, _errors.GATEWAY_BYOK_MISSING)
    return None


def check_controls(headers: Mapping[str, str]) -> JsonObject | None:
    """A gateway 400 body naming the first malformed control header, or None when all are fine."""
    for name in _BOOLEAN_HEADERS:
        value = headers.get(name)
        if value is not None and value not in ("true", "false"):
            return _invalid(f"{name} must be true or false, not {value[:40]!r}")
    for name, pattern in _PATTERNS.items():
        value = headers.get(name)
        if value is not None and not pattern.fullmatch(value):
            return _invalid(f"{name} is malformed: {value[:40]!r}")
    if "cf-aig-otel-parent-span-id" in headers and "cf-aig-otel-trace-id" not in headers:
        return _invalid("cf-aig-otel-parent-span-id without cf-aig-otel-trace-id")
    return None


def dlp_header(action: str, check: str) -> str:
    """A ``cf-aig-dlp`` value in the documented shape: one finding of one policy."""
    finding = {
        "profile": {"id": "emulator-profile", "entry_ids": ["emulator-entry"]},
        "policy_ids": ["emulator-policy"],
        "check": check,
    }
    return _encode({"action": action, "findings": [finding]}).decode()


def _invalid(message: str) -> JsonObject:
    return gateway_error(400, INVALID_CONTROL_CODE, message)
