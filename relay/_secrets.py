"""Secrets: the gateway token and the optional OpenAI key, from Secret Manager or the environment.

Fetched values are cached for SECRET_CACHE_TTL_SECONDS. Concurrent first requests share one fetch
per secret. When a refresh fails transiently, a value fetched earlier keeps being served for up to
SECRET_MAX_STALE_SECONDS (with a warning), so a store outage does not fail requests. Google's
libraries are imported on first use only: a deployment fed by env vars never pays for them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import ConfigError, SecretUnavailable
from ._logging import log, register_secret
from ._settings import Secret, Settings

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Credentials", "SecretManagerStore", "SecretStore", "Secrets"]

# One attempt may take this long before Secret Manager is retried (within SECRET_TIMEOUT_SECONDS).
SECRET_ATTEMPT_TIMEOUT_SECONDS = 2.0
SECRET_RETRY_INITIAL_DELAY = 0.1
SECRET_RETRY_MAX_DELAY = 1.0


class SecretStore(Protocol):
    """Where secret values come from, by full version name."""

    async def access(self, name: str, *, timeout: float) -> str: ...


@dataclass(frozen=True, slots=True)
class Credentials:
    """What one upstream call needs: the gateway token and, unless BYOK, the OpenAI key."""

    gateway_token: Secret
    openai_key: Secret | None


@dataclass(slots=True)
class _Entry:
    value: Secret
    fetched_at: float


class Secrets:
    """Resolves Credentials from settings, caching and sharing Secret Manager fetches."""

    def __init__(
        self,
        settings: Settings,
        store_factory: Callable[[], SecretStore] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._store_factory = store_factory or (
            lambda: SecretManagerStore(settings.secretmanager_emulator_host)
        )
        self._store: SecretStore | None = None
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[Secret]] = {}
        for value in (settings.aig_token, settings.openai_key):
            if value is not None:
                register_secret(value.reveal())

    async def credentials(self) -> Credentials:
        """The current credentials; raises ConfigError or SecretUnavailable."""
        settings = self._settings
        token_name, key_name = settings.aig_token_secret, settings.openai_key_secret
        if token_name is not None and key_name is not None:
            token, key = await asyncio.gather(self._get(token_name), self._get(key_name))
            return Credentials(token, key)
        maybe_token = await self._get(token_name) if token_name else settings.aig_token
        openai_key = await self._get(key_name) if key_name else settings.openai_key
        if (
            maybe_token is None
        ):  # Settings.from_env already refuses this; kept for direct construction.
            raise ConfigError("AIG_TOKEN_SECRET or AIG_TOKEN must be set")
        return Credentials(maybe_token, openai_key)

    def invalidate(self) -> None:
        """Forget cached values so the next request fetches them again (after a 401: rotation)."""
        self._cache.clear()

    async def _get(self, name: str) -> Secret:
        entry = self._cache.get(name)
        now = self._clock()
        if entry is not None and now - entry.fetched_at < self._settings.secret_cache_ttl:
            return entry.value
        inflight = self._inflight.get(name)
        if inflight is None:
            inflight = asyncio.ensure_future(self._refresh(name, entry))
            self._inflight[name] = inflight
            inflight.add_done_callback(lambda _: self._inflight.pop(name, None))
        # shield: one caller giving up (its own deadline) must not cancel the shared fetch.
        return await asyncio.shield(inflight)

    async def _refresh(self, name: str, previous: _Entry | None) -> Secret:
        try:
            raw = await self._fetch(name)
        except SecretUnavailable as exc:
            age = self._clock() - previous.fetched_at if previous else None
            max_age = self._settings.secret_cache_ttl + self._settings.secret_max_stale
            if previous is None or age is None or age > max_age:
                raise
            log(
                "WARNING",
                "secret refresh failed; serving the value fetched earlier",
                event="secret_stale",
                secret=name,
                age_seconds=round(age, 1),
                error=exc.message,
            )
            return previous.value
        register_secret(raw)
        value = Secret(raw)
        self._cache[name] = _Entry(value, self._clock())
        return value

    async def _fetch(self, name: str) -> str:
        if self._store is None:
            self._store = self._store_factory()
        return await self._store.access(name, timeout=self._settings.secret_timeout)


class SecretManagerStore:
    """Google Secret Manager through the official async client (plaintext gRPC for an emulator)."""

    def __init__(self, emulator_host: str | None = None) -> None:
        self._emulator_host = emulator_host
        self._client: Any = None

    async def access(self, name: str, *, timeout: float) -> str:
        """Read one secret version and check its CRC32C; map failures to contract errors."""
        from google.api_core import exceptions as gexc
        from google.api_core.retry_async import AsyncRetry, if_exception_type

        client = self._client or self._make_client()
        retry = AsyncRetry(
            predicate=if_exception_type(
                gexc.ServiceUnavailable, gexc.ResourceExhausted, gexc.InternalServerError
            ),
            initial=SECRET_RETRY_INITIAL_DELAY,
            maximum=SECRET_RETRY_MAX_DELAY,
            timeout=timeout,
        )
        try:
            async with asyncio.timeout(timeout + 0.5):
                response = await client.access_secret_version(
                    name=name, retry=retry, timeout=min(SECRET_ATTEMPT_TIMEOUT_SECONDS, timeout)
                )
        except (gexc.NotFound, gexc.FailedPrecondition, gexc.InvalidArgument) as exc:
            raise ConfigError(
                f"secret {name} does not exist or has no enabled version ({type(exc).__name__})"
            ) from None
        except (gexc.PermissionDenied, gexc.Unauthenticated) as exc:
            raise ConfigError(
                f"this function may not read secret {name} ({type(exc).__name__}): grant "
                "roles/secretmanager.secretAccessor on it to the runtime service account"
            ) from None
        except (gexc.GoogleAPIError, TimeoutError, OSError) as exc:
            raise SecretUnavailable(
                f"Secret Manager did not answer for {name} ({type(exc).__name__})"
            ) from None
        payload = response.payload
        if payload.data_crc32c and _crc32c(payload.data) != payload.data_crc32c:
            raise SecretUnavailable(f"secret {name} arrived corrupted (CRC32C mismatch)")
        try:
            return bytes(payload.data).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"secret {name} is not UTF-8 text") from None

    def _make_client(self) -> Any:
        from google.cloud.secretmanager_v1 import SecretManagerServiceAsyncClient

        if self._emulator_host:
            import grpc
            from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
                grpc_asyncio,
            )

            channel = grpc.aio.insecure_channel(self._emulator_host)
            transport = grpc_asyncio.SecretManagerServiceGrpcAsyncIOTransport(channel=channel)
            self._client = SecretManagerServiceAsyncClient(transport=transport)
        else:
            self._client = SecretManagerServiceAsyncClient()
        return self._client


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))
