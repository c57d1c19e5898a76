"""CloudEvent adapter: a Pub/Sub messagePublished event (Eventarc's trigger) onto relay.events."""

from __future__ import annotations

from typing import Any

from cloudevents.http.event import CloudEvent

from relay import TraceContext, log
from relay.events import Disposition, message_from_json

from .runtime import get_events

__all__ = ["handle_event"]


async def handle_event(event: CloudEvent) -> Disposition:
    """Run the message an event carries; RETRY when Pub/Sub should deliver it again."""
    data: Any = event.data
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        log("ERROR", "event is not a Pub/Sub message; acknowledged", event_id=str(event["id"]))
        return Disposition.FINISHED
    attempt = data.get("deliveryAttempt")
    parsed = message_from_json(
        message,
        fallback_id=str(event["id"]),
        delivery_attempt=attempt if type(attempt) is int else None,
        # The publisher's trace (a message attribute) wins over the one Eventarc sets.
        trace=TraceContext.from_attributes({"traceparent": event.get("traceparent")}),
    )
    return await get_events().handle(parsed)  # a retry is logged by the core
