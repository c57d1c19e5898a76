"""Which HTTP calls deliver their outcome (docs/delivery.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from relay import Answer, Settings
from relay.delivery import Source, deliver_stream

from .runtime import get_deliverer

__all__ = ["deliver_http"]


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
