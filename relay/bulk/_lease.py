"""Who may publish a run's items, and how many are out: one object, changed only with a
Cloud Storage generation precondition.

`{output}_bulk_published.json` holds `{"published", "holder", "expires"}`. A submission takes the
lease by writing its own `holder` on the generation it read; another one reading the same
generation fails its write (412), so exactly one publishes at a time. Each chunk published moves
`published` and `expires` on in one more conditional write: progress and the lease cannot part.
A holder that died leaves a lease that expires; the next submission takes it over and resumes
after `published`. A holder whose write fails has lost the lease and publishes nothing more.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from ._store import BulkStore, GsPath

__all__ = ["LEASE_SECONDS", "PublishLease"]

# Longer than one publish call may take (`_PUBLISH_TIMEOUT_SECONDS` in _runs.py, 30 s) plus the
# progress write after it, so a live holder always renews before its lease runs out.
LEASE_SECONDS = 90.0
_JSON = "application/json"
# Conditional writes lost to another submission before this one gives up for now.
_ATTEMPTS = 4


class _State(msgspec.Struct):
    published: int = 0
    holder: str | None = None
    expires: float = 0.0


@dataclass(slots=True)
class PublishLease:
    """One submission's claim on publishing a run (blocking: call from a worker thread)."""

    store: BulkStore
    path: GsPath
    clock: Callable[[], float] = time.time
    holder: str = field(default_factory=lambda: secrets.token_hex(8))
    generation: int | None = None
    expires: float = 0.0

    def published(self) -> int:
        """How many items are out, by the last progress written (0 before any)."""
        found = self.store.read_versioned(self.path)
        return 0 if found is None else _decode(found[0]).published

    def take(self) -> int | None:
        """The count to resume after, with the lease now ours; None while another live
        submission holds it."""
        for _ in range(_ATTEMPTS):
            found = self.store.read_versioned(self.path)
            state, generation = (_State(), 0) if found is None else (_decode(found[0]), found[1])
            now = self.clock()
            if state.holder not in (None, self.holder) and state.expires > now:
                return None
            if self._write(state.published, generation, now + LEASE_SECONDS):
                return state.published
        return None

    def advance(self, published: int, *, release: bool = False) -> bool:
        """Record `published` and renew (or, with `release`, give up) the lease; False when
        the lease was lost, and nothing may be published any more."""
        if self.generation is None:
            return False
        expires = 0.0 if release else self.clock() + LEASE_SECONDS
        return self._write(published, self.generation, expires, keep=not release)

    def seconds_left(self) -> float:
        return self.expires - self.clock() if self.generation is not None else 0.0

    def _write(self, published: int, generation: int, expires: float, *, keep: bool = True) -> bool:
        state = _State(published, self.holder if keep else None, expires)
        written = self.store.put_if(self.path, msgspec.json.encode(state), _JSON, generation)
        self.generation = written if keep else None
        self.expires = expires
        return written is not None


def _decode(data: bytes) -> _State:
    try:
        return msgspec.json.decode(data, type=_State)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Not written by a submission: taken as nothing published, so the first write (with
        # its precondition on this generation) replaces it.
        return _State()
