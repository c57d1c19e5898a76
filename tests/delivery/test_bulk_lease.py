"""The publishing lease of a bulk run (relay/bulk/_lease.py) against the Cloud Storage emulator,
which refuses a write whose generation precondition fails, as Cloud Storage does."""

from __future__ import annotations

import uuid

import pytest

from emulators.google import StorageEmulator
from relay.bulk import LEASE_SECONDS, BulkStore, GsPath, PublishLease
from tests.support.google import RESULTS_BUCKET


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(storage: StorageEmulator, monkeypatch: pytest.MonkeyPatch) -> BulkStore:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", storage.url)
    return BulkStore("test-project")


def test_one_holder_at_a_time_and_progress_moves_with_the_lease(store: BulkStore) -> None:
    """The first to take the lease publishes; the other is told to wait; the count recorded
    with the lease is where the next holder resumes."""
    path = GsPath(RESULTS_BUCKET, f"lease/{uuid.uuid4().hex}/_bulk_published.json")
    clock = Clock()
    first, second = PublishLease(store, path, clock), PublishLease(store, path, clock)
    assert first.take() == 0
    assert second.take() is None
    assert first.advance(500)
    assert second.published() == 500 and second.take() is None
    assert first.advance(700, release=True)
    assert second.take() == 700
    # The released holder cannot write any more: its generation is gone.
    assert not first.advance(900)
    assert second.published() == 700


def test_an_expired_lease_is_taken_over_and_the_old_holder_stops(store: BulkStore) -> None:
    """A holder that went quiet past LEASE_SECONDS loses the lease to the next submission; its
    own next write fails, so it publishes nothing more."""
    path = GsPath(RESULTS_BUCKET, f"lease/{uuid.uuid4().hex}/_bulk_published.json")
    clock = Clock()
    stalled, fresh = PublishLease(store, path, clock), PublishLease(store, path, clock)
    assert stalled.take() == 0 and stalled.advance(500)
    clock.now += LEASE_SECONDS - 1
    assert fresh.take() is None
    clock.now += 2
    assert fresh.take() == 500
    assert not stalled.advance(1000)
    assert fresh.advance(1000) and fresh.published() == 1000
