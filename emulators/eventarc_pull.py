"""Eventarc's Pub/Sub delivery with production's concurrency, for the local stack and bench.

Google's Pub/Sub emulator pushes a couple of messages at a time, so a run of thousands of items
through its push subscription measures the emulator, not the function. Production push raises
the number of outstanding pushes with the endpoint's success rate, bounded in practice by the
function's per-instance concurrency. `EventarcPuller` does the same from a *pull* subscription:
it keeps up to `max_outstanding` messages in flight, posts each to the function as the binary-mode
CloudEvent Eventarc makes of it (or, with `cloud_event=False`, as the plain push body a direct
push subscription sends), and, as push does, acknowledges on a 2xx and nacks otherwise (so the
subscription's retry policy, delivery count and dead-letter policy apply).

    subscription --pull (<= N outstanding)--> EventarcPuller --CloudEvent--> prompt_event
                                                              --push body--> prompt_push
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from emulators.eventarc import cloud_event_headers

__all__ = ["DEFAULT_MAX_OUTSTANDING", "EventarcPuller"]

# infra/variables.tf max_instance_request_concurrency: the pushes one instance takes at once
# (tests/test_infra_wiring.py keeps the two equal).
DEFAULT_MAX_OUTSTANDING = 250
# Pub/Sub returns at most 1,000 messages per pull call.
_PULL_MAX = 1000
# How long the puller waits before pulling again when the subscription had nothing.
_IDLE_SECONDS = 0.05


class EventarcPuller:
    """Pulls `subscription` (projects/P/subscriptions/S) from the emulator at `pubsub_host` and
    forwards each message to `target` as a CloudEvent from `topic`."""

    def __init__(
        self,
        pubsub_host: str,
        subscription: str,
        target: str,
        topic: str,
        *,
        max_outstanding: int = DEFAULT_MAX_OUTSTANDING,
        timeout: float = 600.0,
        cloud_event: bool = True,
    ) -> None:
        self.subscription = subscription
        self.cloud_event = cloud_event
        self.target = target
        self.topic = topic
        self.max_outstanding = max_outstanding
        self.forwarded = 0
        self.peak_outstanding = 0
        limits = httpx.Limits(max_connections=max_outstanding + 2)
        self._pubsub = httpx.Client(base_url=f"http://{pubsub_host}/v1/", timeout=30.0)
        self._function = httpx.Client(timeout=timeout, limits=limits)
        self._pool = ThreadPoolExecutor(max_outstanding, thread_name_prefix="eventarc-pull")
        self._free = threading.Semaphore(max_outstanding)
        self._lock = threading.Lock()
        self._outstanding = 0
        self._acks: list[str] = []
        self._nacks: list[str] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="eventarc-puller")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._settle()
        self._pubsub.close()
        self._function.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._settle()
            free = self._take_free_slots()
            try:
                received = self._pull(free)
            except httpx.HTTPError:
                received = []  # the emulator is stopping or busy: try again shortly
            for _ in range(free - len(received)):
                self._free.release()
            for item in received:
                self._pool.submit(self._deliver, item)
            if not received:
                self._stopping.wait(_IDLE_SECONDS)

    def _take_free_slots(self) -> int:
        """Block until one slot is free, then take every free one (at most a pull's worth)."""
        while not self._free.acquire(timeout=_IDLE_SECONDS):
            self._settle()
            if self._stopping.is_set():
                return 0
        taken = 1
        while taken < _PULL_MAX and self._free.acquire(blocking=False):
            taken += 1
        return taken

    def _pull(self, count: int) -> list[dict[str, Any]]:
        if count == 0:
            return []
        answer = self._call("pull", {"maxMessages": count, "returnImmediately": True})
        received: list[dict[str, Any]] = answer.get("receivedMessages") or []
        return received

    def _deliver(self, received: dict[str, Any]) -> None:
        with self._lock:
            self._outstanding += 1
            self.peak_outstanding = max(self.peak_outstanding, self._outstanding)
        try:
            push: dict[str, Any] = {
                "message": received["message"],
                "subscription": self.subscription,
            }
            if "deliveryAttempt" in received:
                push["deliveryAttempt"] = received["deliveryAttempt"]
            try:
                headers = cloud_event_headers(push, self.topic) if self.cloud_event else {}
                response = self._function.post(self.target, json=push, headers=headers)
                ok = 200 <= response.status_code < 300
            except httpx.HTTPError:
                ok = False
            with self._lock:
                (self._acks if ok else self._nacks).append(received["ackId"])
                self.forwarded += 1
        finally:
            with self._lock:
                self._outstanding -= 1
            self._free.release()

    def _settle(self) -> None:
        """Acknowledge what succeeded; nack the rest, so Pub/Sub redelivers it with backoff."""
        with self._lock:
            acks, self._acks = self._acks, []
            nacks, self._nacks = self._nacks, []
        try:
            if acks:
                self._call("acknowledge", {"ackIds": acks})
            if nacks:
                self._call("modifyAckDeadline", {"ackIds": nacks, "ackDeadlineSeconds": 0})
        except httpx.HTTPError:
            pass  # unacknowledged messages come back after their ack deadline, as in production

    def _call(self, verb: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._pubsub.post(f"{self.subscription}:{verb}", json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer
