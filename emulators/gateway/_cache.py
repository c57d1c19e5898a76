"""The gateway emulator's response cache, with the gateway's rules for when it applies.

A request asks for caching with ``cf-aig-cache-ttl`` (seconds) and/or ``cf-aig-cache-key`` (TTL
300 s when only a key is given), unless it is a stream or carries ``cf-aig-skip-cache: true``. The
key is the ``cf-aig-cache-key`` value as given, else a hash of (path, ``Authorization``, body).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from emulators.gateway._http import Request

__all__ = ["DEFAULT_CACHE_TTL", "CacheEntry", "ResponseCache", "cache_plan"]

DEFAULT_CACHE_TTL = 300.0
_MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class CacheEntry:
    body: bytes
    content_type: str
    expires: float


def cache_plan(request: Request, stream: bool) -> tuple[str | None, float]:
    """(cache key, TTL) when this request reads and writes the cache, else (None, 0)."""
    headers = request.headers
    key = headers.get("cf-aig-cache-key")
    ttl_header = headers.get("cf-aig-cache-ttl")
    if stream or headers.get("cf-aig-skip-cache", "").lower() == "true":
        return None, 0.0
    if key is None and ttl_header is None:
        return None, 0.0
    try:
        ttl = float(ttl_header) if ttl_header is not None else DEFAULT_CACHE_TTL
    except ValueError:
        ttl = DEFAULT_CACHE_TTL
    if key is None:
        digest = hashlib.blake2b(digest_size=20)
        for part in (request.path, headers.get("authorization", "")):
            digest.update(part.encode() + b"\0")
        digest.update(request.body)
        key = digest.hexdigest()
    return key, ttl


class ResponseCache:
    """Answers by key until they expire; the oldest entry goes first when it is full."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, CacheEntry] = {}

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires <= self._clock():
                del self._entries[key]
                entry = None
        return entry

    def put(self, key: str, body: bytes, content_type: str, ttl: float) -> None:
        with self._lock:
            self._entries.pop(key, None)
            if len(self._entries) >= _MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]  # oldest first
            self._entries[key] = CacheEntry(body, content_type, self._clock() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
