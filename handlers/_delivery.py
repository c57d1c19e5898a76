"""Which HTTP calls deliver their outcome, and the process-wide Deliverer (docs/delivery.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from relay import Answer, Settings
from relay.delivery import Deliverer, Source, deliver_stream

__all__ = ["deliver_http", "get_deliverer"]

_deliverer: Deliverer | None = None


def get_deliverer(settings: Settings) -> Deliverer | None:
    """The shared Deliverer, or None when no sink is configured."""
    global _deliverer
    if not (settings.results_topic or settings.results_bucket):
        return None
    if _deliverer is None:
        _deliverer = Deliverer.from_settings(settings)
    return _deliverer


async def deliver_http(answer: Answer, headers: Mapping[str, str], settings: Settings) -> Answer:
    """Deliver an HTTP call's answer when its body asked to, or a scheduler job did not opt out."""
    job = headers.get("x-cloudscheduler-jobname") or None
    flag = answer.deliver
    if not (flag is True or (job is not None and flag is not False)):
        return answer
    deliverer = get_deliverer(settings)
    if deliverer is None:
        return answer  # no sink configured: nothing is delivered, so no `delivery` field
    source: Source = "scheduler" if job else "http"
    job = job[:500] if job else None

    async def deliver(outcome: dict[str, Any]) -> list[dict[str, Any]]:
        return await deliverer.deliver(outcome, source, scheduler_job=job)

    if answer.events is not None:
        return replace(answer, events=deliver_stream(answer.events, deliver))
    answer.body["delivery"] = await deliver(answer.body)
    return answer
