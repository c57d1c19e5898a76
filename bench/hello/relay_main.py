"""The floor of a relay's cold start: hello world plus only what any relay must do first.

`relay_env` sends the prompt upstream with one `httpx.AsyncClient`, built on the first request
(its TLS context included: the production gateway is https) with the credentials from the
environment. `relay_secrets` first reads both credentials with google-cloud-secret-manager's async
client over gRPC (imports, channel, two fetches), as `secret_delivery = "runtime"` must. No
validation, normalization, logging or retries: what remains between these and the function is
the function's own work (`bench/_cold_start.py`).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import functions_framework.aio
import httpx
from starlette.requests import Request
from starlette.responses import Response

_client: httpx.AsyncClient | None = None
_credentials: tuple[str, str] | None = None


@functions_framework.aio.http
async def relay_env(request: Request) -> Response:
    return await _relay(request, (os.environ["AIG_TOKEN"], os.environ["OPENAI_API_KEY"]))


@functions_framework.aio.http
async def relay_secrets(request: Request) -> Response:
    global _credentials
    if _credentials is None:
        _credentials = await _fetch_secrets()
    return await _relay(request, _credentials)


async def _relay(request: Request, credentials: tuple[str, str]) -> Response:
    global _client
    prompt = (await request.json())["prompt"]
    if _client is None:
        _client = httpx.AsyncClient(
            base_url=os.environ["AIG_BASE_URL"], verify=httpx.create_ssl_context()
        )
    token, key = credentials
    reply = await _client.post(
        "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]},
        headers={"cf-aig-authorization": f"Bearer {token}", "authorization": f"Bearer {key}"},
    )
    return Response(reply.content, reply.status_code, media_type="application/json")


async def _fetch_secrets() -> tuple[str, str]:
    import grpc
    from google.cloud.secretmanager_v1 import SecretManagerServiceAsyncClient
    from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
        grpc_asyncio,
    )

    channel = grpc.aio.insecure_channel(os.environ["SECRETMANAGER_EMULATOR_HOST"])
    transport = grpc_asyncio.SecretManagerServiceGrpcAsyncIOTransport(channel=channel)
    client: Any = SecretManagerServiceAsyncClient(transport=transport)
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    names = [
        f"projects/{project}/secrets/aig-token/versions/latest",
        os.environ["OPENAI_API_KEY_SECRET"] + "/versions/latest",
    ]
    token, key = await asyncio.gather(
        *(client.access_secret_version(name=name, timeout=5) for name in names)
    )
    return token.payload.data.decode(), key.payload.data.decode()
