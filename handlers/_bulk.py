"""`bulk` / `bulk_status` bodies to `prompt` (docs/bulk.md); bulk items run in `relay.bulk`."""

from __future__ import annotations

from relay import Answer, Context, Relay, RelayError, UpstreamError, log
from relay.bulk import BulkRuns, decode_bulk_body, shared_store
from relay.logs import redact

__all__ = ["answer_bulk"]


async def answer_bulk(relay: Relay, body: bytes, context: Context) -> Answer | None:
    """The answer to a `bulk` or `bulk_status` body; None for any other body."""
    try:
        request = decode_bulk_body(body)
        if request is None:
            return None
        runs = BulkRuns(shared_store(relay), relay.settings)
        answer = await runs.answer(request)
    except RelayError as exc:
        return relay.reject(exc, context)
    except Exception as exc:  # a storage or Pub/Sub failure: retryable, and said so
        log(
            "ERROR",
            "bulk call failed",
            error=redact(f"{type(exc).__name__}: {exc}")[:500],
            **context.log_fields,
        )
        return relay.reject(
            UpstreamError(f"bulk storage or Pub/Sub call failed ({type(exc).__name__})"), context
        )
    log("INFO", "bulk call answered", bulk=answer, **context.log_fields)
    return Answer(200, answer)
