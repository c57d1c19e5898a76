"""Who a call is for, told to the gateway so spend limits and policies can be scoped by it.

IDENTITY_METADATA names which of `caller`, `source`, `job`, `bulk` go into `cf-aig-metadata`:

- `caller`: the email claim of the ID token the platform verified before the call reached the
  function: the JWT in `X-Serverless-Authorization` (Cloud Run puts the verified token there when
  the caller sent its own `Authorization`), else in `Authorization: Bearer`. Its payload is read,
  not verified again: it is as trustworthy as the platform's check, so only while the service
  requires IAM authentication (no `allUsers` invoker). Absent when there is no token.
- `source`: `http`, `scheduler`, `pubsub` or `bulk`;
- `job`: the Cloud Scheduler job name; `bulk`: the bulk run id.

These keys are the function's: a request whose own `metadata` uses one is refused (400 naming it),
and the caller's entries may fill only what is left of the gateway's 5 keys, so they can never
spoof an identity or push one out.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from .errors import ConfigError, InvalidRequest

__all__ = [
    "GATEWAY_METADATA_KEYS",
    "IDENTITY_KEYS",
    "Identity",
    "caller_email",
    "merge_metadata",
    "parse_identity_metadata",
]

IDENTITY_KEYS = ("caller", "source", "job", "bulk")
# The gateway reads at most this many keys of cf-aig-metadata.
GATEWAY_METADATA_KEYS = 5
# An ID token is about 1 KB; one much larger is not read.
MAX_TOKEN_CHARS = 8192
# RFC 5321's limit; and only characters that can sit in a header and a log line.
_EMAIL = re.compile(r"[\x21-\x7e]{1,254}")
_VALUE_CHARS = 500


@dataclass(frozen=True, slots=True)
class Identity:
    """What is known about who a call is for; None where it is not known."""

    caller: str | None = None
    source: str | None = None
    job: str | None = None
    bulk: str | None = None

    def fields(self, keys: tuple[str, ...]) -> dict[str, str]:
        """The named keys that have a value (for cf-aig-metadata and the log line)."""
        values = {key: getattr(self, key) for key in keys}
        return {key: value[:_VALUE_CHARS] for key, value in values.items() if value}


def parse_identity_metadata(raw: str | None) -> tuple[str, ...]:
    """IDENTITY_METADATA: a comma list drawn from IDENTITY_KEYS (empty or unset: none)."""
    if raw is None or not raw.strip():
        return ()
    keys = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [key for key in keys if key not in IDENTITY_KEYS]
    if unknown:
        raise ConfigError(
            f"IDENTITY_METADATA: {unknown[0][:40]!r} is not one of {', '.join(IDENTITY_KEYS)}"
        )
    return keys


def caller_email(*credentials: str | None) -> str | None:
    """The `email` claim of the platform-verified ID token, or None (see the module docstring).

    `credentials` are the incoming `X-Serverless-Authorization` and `Authorization` values, in
    that order of preference (the handler reads them; each is `Bearer <JWT>` or absent).
    """
    token = next((t for t in map(_bearer, credentials) if t is not None), None)
    if token is None:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload: Any = msgspec.json.decode(base64.urlsafe_b64decode(parts[1] + "=" * 4))
    except (binascii.Error, ValueError, msgspec.DecodeError, RecursionError):
        return None
    email = payload.get("email") if isinstance(payload, dict) else None
    return email if isinstance(email, str) and _EMAIL.fullmatch(email) else None


def merge_metadata(
    own: Mapping[str, Any] | None, identity: Mapping[str, str], reserved: tuple[str, ...]
) -> dict[str, Any] | None:
    """cf-aig-metadata: the identity keys, then the request's own entries in what is left.

    `reserved` (IDENTITY_METADATA) are refused in `own` whether or not this call has a value for
    them, and the room left for `own` is the same for every call.
    """
    if own:
        for key in own:
            if key in reserved:
                raise InvalidRequest(
                    f"metadata.{key[:40]}: reserved for the function's identity metadata "
                    "(IDENTITY_METADATA)"
                )
        room = GATEWAY_METADATA_KEYS - len(reserved)
        if len(own) > room:
            raise InvalidRequest(
                f"metadata: at most {room} entries here (IDENTITY_METADATA uses "
                f"{len(reserved)} of the gateway's {GATEWAY_METADATA_KEYS})"
            )
    merged = {**identity, **(own or {})}
    return merged or None


def _bearer(value: str | None) -> str | None:
    if not value or len(value) > MAX_TOKEN_CHARS:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
