"""Cloud Functions entry points: `prompt` (HTTP), `prompt_event` (Pub/Sub through Eventarc, a
CloudEvent) and `prompt_push` (Pub/Sub push straight to the function, HTTP).

All are async (functions_framework.aio), so functions-framework serves them on uvicorn and one
instance keeps hundreds of slow LLM calls in flight; see README "Concurrency model".
"""

from __future__ import annotations

import gc

import functions_framework.aio
from cloudevents.http.event import CloudEvent
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from handlers import check_settings, handle_http, setup_logging

# Before anything logs: every line from here on, the framework's and the server's too, is JSON.
setup_logging()
check_settings()
# What is imported by now lives as long as the process. Frozen, the collector's full passes skip
# it: the first request's imports (httpcore, the Secret Manager client) would otherwise trigger
# one over all of it, and the forked worker would copy the pages that pass touches.
gc.freeze()


@functions_framework.aio.http
async def prompt(request: Request) -> Response:
    """Run one prompt (or a batch) and answer the normalized JSON result."""
    return await handle_http(request)


@functions_framework.aio.cloud_event
async def prompt_event(event: CloudEvent) -> None:
    """Run the prompt a Pub/Sub message carries; raise only when a redelivery could succeed."""
    # The event path (relay.events: dedup, delivery, bulk items) loads on the first event: an
    # HTTP-only deployment's cold start does not pay for it.
    from handlers.event import handle_event
    from relay.events import Disposition

    if await handle_event(event) is Disposition.RETRY:
        # An expected outcome, not a crash: the adapter's one line, then a 500 that Starlette
        # answers without the framework's crash traceback (it logs no HTTPException).
        raise HTTPException(500, "retryable failure; Pub/Sub redelivers the message")


@functions_framework.aio.http
async def prompt_push(request: Request) -> Response:
    """Run the prompt a Pub/Sub push carries: 2xx when finished, 5xx to have it pushed again."""
    from handlers.push import handle_push

    return await handle_push(request)
