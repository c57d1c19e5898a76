"""Batches: `{"requests": [...]}`, items run concurrently under one deadline, answered in order."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec

from ._answer import Answer, Context, new_request_id, request_id_from_raw
from ._errors import InvalidRequest
from ._request import BatchRequest, decode_prompt

if TYPE_CHECKING:
    from ._service import Relay

__all__ = ["answer_batch"]


async def answer_batch(relay: Relay, batch: BatchRequest, context: Context | None = None) -> Answer:
    """Answer `{"requests": [...]}`: items run concurrently, answered in order."""
    context = context or Context()
    limit = relay.settings.batch_max_items
    if len(batch.requests) > limit:
        error = InvalidRequest(f"requests: at most {limit} items (BATCH_MAX_ITEMS)")
        return relay.refuse(error, new_request_id(), context)
    gate = asyncio.Semaphore(relay.settings.batch_concurrency)
    # One deadline for the whole batch: items waiting for a slot spend the same budget, so a
    # batch never outlives UPSTREAM_TIMEOUT_SECONDS (and the platform's timeout behind it).
    started = relay.clock()

    async def one(index: int, raw: msgspec.Raw) -> dict[str, Any]:
        async with gate:
            item_context = Context(
                log_fields={**context.log_fields, "batch_index": index},
                default_metadata=context.default_metadata,
                allow_stream=False,
                trace=context.trace,
            )
            try:
                request = decode_prompt(bytes(raw))
            except InvalidRequest as exc:
                exc.message = f"requests[{index}]: {exc.message}"
                rid = request_id_from_raw(bytes(raw)) or new_request_id()
                return relay.refuse(exc, rid, item_context, started=started).body
            if request.stream:
                error = InvalidRequest(f"requests[{index}].stream: batch items cannot stream")
                rid = request.request_id or new_request_id()
                return relay.refuse(error, rid, item_context, started=started).body
            answer = await relay.answer_request(request, item_context, started=started)
            if answer.error is not None:
                answer.body["error"]["message"] = f"requests[{index}]: {answer.error.message}"
            return answer.body

    results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(batch.requests)))
    return Answer(200, {"ok": all(r["ok"] for r in results), "results": list(results)})
