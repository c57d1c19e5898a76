"""Access tokens for the Cloud Storage and Pub/Sub JSON APIs (bulk runs call them on httpx).

On Cloud Run (`K_SERVICE` set) the token comes from the metadata server, one GET an hour.
Elsewhere (a developer's machine with application default credentials) google-auth provides it,
imported only then: its Compute Engine credentials alone pull in requests and cryptography's
x509, about 17 MiB, for what is one GET on Cloud Run. Against an emulator
(`STORAGE_EMULATOR_HOST`, `PUBSUB_EMULATOR_HOST`) no token is sent, as with Google's libraries.
"""

from __future__ import annotations

import os
import threading
import time

import httpx

from ..upstream_headers import bearer_header

__all__ = ["Auth", "RestError"]

_METADATA_TOKEN = (
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"  # noqa: S105 - a URL
)
_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# A token is fetched again this long before it expires.
_MARGIN_SECONDS = 120.0


class RestError(Exception):
    """A Cloud Storage or Pub/Sub call answered with an unexpected status (retryable)."""


class Auth:
    """The `authorization` header for a Google API, or none against an emulator."""

    def __init__(self, emulator: bool) -> None:
        self.emulator = emulator
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    @property
    def stale(self) -> bool:
        return not self.emulator and time.monotonic() > self._expires

    def header(self) -> dict[str, str]:
        """The header; blocking when the token must be fetched (see `stale`)."""
        if self.emulator:
            return {}
        if self.stale:
            with self._lock:
                if self.stale:
                    token, lifetime = _fetch()
                    self._token, self._expires = token, time.monotonic() + lifetime
        return bearer_header(self._token)


def _fetch() -> tuple[str, float]:
    """(token, seconds to use it for)."""
    if os.environ.get("K_SERVICE"):
        answer = httpx.get(_METADATA_TOKEN, headers={"Metadata-Flavor": "Google"}, timeout=10)
        if answer.status_code != 200:
            raise RestError(f"metadata server token: HTTP {answer.status_code}")
        body = answer.json()
        return str(body["access_token"]), float(body["expires_in"]) - _MARGIN_SECONDS
    import google.auth
    from google.auth.transport.requests import Request

    credentials, _ = google.auth.default(scopes=[_SCOPE])
    credentials.refresh(Request())  # type: ignore[no-untyped-call]
    expiry = getattr(credentials, "expiry", None)
    left = (expiry.timestamp() - time.time()) if expiry else 3600.0
    return str(credentials.token), max(left - _MARGIN_SECONDS, 60.0)
