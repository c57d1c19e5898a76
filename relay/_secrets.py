"""Secrets: the gateway token and the optional OpenAI key, from Secret Manager or the environment.

Fetched values are cached for SECRET_CACHE_TTL_SECONDS. Concurrent first requests share one fetch
per secret. When a refresh fails transiently, a value fetched earlier keeps being served for up to
SECRET_MAX_STALE_SECONDS (with a warning), so a store outage does not fail requests. Google's
libraries are imported on first use only: a deployment fed by env vars never pays for them.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import ConfigError, SecretUnavailable
from ._logging import log, register_secret
from ._settings import Secret, Settings, credential_problem

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Credentials", "SecretManagerStore", "SecretStore", "Secrets"]

# One attempt may take this long before Secret Manager is retried (within SECRET_TIMEOUT_SECONDS).
SECRET_ATTEMPT_TIMEOUT_SECONDS = 2.0
SECRET_RETRY_INITIAL_DELAY = 0.1
SECRET_RETRY_MAX_DELAY = 1.0
# After a refetch confirmed a refused value, further 401s do not refetch it for this long.
REFETCH_COOLDOWN_SECONDS = 10.0


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
    # Upstream refused this value (a 401) and a refetch is under way.
    rejected: bool = False
    # When a refetch after a 401 returned this same value: the store holds nothing newer.
    confirmed_at: float | None = None


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
        token, key = await asyncio.gather(
            self._get(token_name) if token_name else _given(settings.aig_token),
            self._get(key_name) if key_name else _given(settings.openai_key),
        )
        if token is None:
            raise ConfigError("AIG_TOKEN_SECRET or AIG_TOKEN must be set")
        return Credentials(token, key)

    async def refetch(self) -> bool:
        """Fetch the Secret Manager secrets again now, for a caller that saw a 401 (rotation).

        Only that caller waits; other requests keep using the cached values meanwhile, and share
        the fetch if they hit a 401 too. A value that such a refetch just confirmed (the store
        still holds it) is not fetched again for REFETCH_COOLDOWN_SECONDS, so a run of 401s
        cannot become a storm of fetches. Returns whether anything was fetched.
        """
        now = self._clock()
        names = []
        for name in (self._settings.aig_token_secret, self._settings.openai_key_secret):
            entry = self._cache.get(name) if name else None
            if name is None or (
                entry is not None
                and entry.confirmed_at is not None
                and now - entry.confirmed_at < REFETCH_COOLDOWN_SECONDS
            ):
                continue
            if entry is not None:
                entry.rejected = True
            names.append(name)
        if names:
            await asyncio.gather(*(asyncio.shield(self._start_refresh(n)) for n in names))
        return bool(names)

    async def _get(self, name: str) -> Secret:
        entry = self._cache.get(name)
        if entry is not None:
            age = self._clock() - entry.fetched_at
            if age < self._settings.secret_cache_ttl:
                return entry.value
            if age <= self._settings.secret_cache_ttl + self._settings.secret_max_stale:
                # Expired but usable: answer now and refresh in the background, so no request
                # waits on Secret Manager while a value is at hand (nor fails while it is down).
                self._start_refresh(name)
                return entry.value
        # shield: one caller giving up (its own deadline) must not cancel the shared fetch.
        return await asyncio.shield(self._start_refresh(name))

    def _start_refresh(self, name: str) -> asyncio.Future[Secret]:
        """The one fetch in flight for `name`, started if there is none."""
        inflight = self._inflight.get(name)
        if inflight is None:
            inflight = asyncio.ensure_future(self._refresh(name))
            self._inflight[name] = inflight

            def done(future: asyncio.Future[Secret]) -> None:
                self._inflight.pop(name, None)
                # A background refresh's failure reaches the log through the store's errors
                # (SecretUnavailable / ConfigError, logged above or by the waiting request).
                if not future.cancelled():
                    future.exception()

            inflight.add_done_callback(done)
        return inflight

    async def _refresh(self, name: str) -> Secret:
        previous = self._cache.get(name)
        try:
            raw = await self._fetch(name)
        except SecretUnavailable as exc:
            age = self._clock() - previous.fetched_at if previous else math.inf
            too_old = age > self._settings.secret_cache_ttl + self._settings.secret_max_stale
            # A value upstream just refused is no fallback: retrying with it changes nothing.
            if previous is None or previous.rejected or too_old:
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
        except ConfigError as exc:
            # Deleted, disabled or no longer readable: a revoked grant takes effect.
            self._cache.pop(name, None)
            log(
                "ERROR",
                "secret refresh refused",
                event="secret_refused",
                secret=name,
                error=exc.message,
            )
            raise
        register_secret(raw)
        value = Secret(raw)
        now = self._clock()
        confirmed = previous is not None and previous.rejected and previous.value == value
        self._cache[name] = _Entry(value, now, confirmed_at=now if confirmed else None)
        return value

    async def _fetch(self, name: str) -> str:
        if self._store is None:
            self._store = self._store_factory()
        return await self._store.access(name, timeout=self._settings.secret_timeout)


async def _given(value: Secret | None) -> Secret | None:
    return value


class SecretManagerStore:
    """Google Secret Manager through the official async client (plaintext gRPC for an emulator)."""

    def __init__(self, emulator_host: str | None = None) -> None:
        self._emulator_host = emulator_host
        self._client: Any = None

    async def access(self, name: str, *, timeout: float) -> str:
        """Read one secret version and check its CRC32C; map failures to contract errors."""
        from google.api_core import exceptions as gexc
        from google.api_core.retry_async import AsyncRetry, if_exception_type
        from google.auth.exceptions import GoogleAuthError

        try:
            client = self._client or self._make_client()
        except GoogleAuthError as exc:
            raise ConfigError(
                f"no credentials to read secret {name} ({type(exc).__name__}): run with a "
                "service account, or `gcloud auth application-default login` locally"
            ) from exc
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
            ) from exc
        except (gexc.PermissionDenied, gexc.Unauthenticated) as exc:
            raise ConfigError(
                f"this function may not read secret {name} ({type(exc).__name__}): grant "
                "roles/secretmanager.secretAccessor on it to the runtime service account"
            ) from exc
        except (gexc.GoogleAPIError, GoogleAuthError, TimeoutError, OSError) as exc:
            raise SecretUnavailable(
                f"Secret Manager did not answer for {name} ({type(exc).__name__})"
            ) from exc
        except Exception as exc:
            # Anything else from the client library: transient as far as we can tell, and said so.
            log(
                "ERROR",
                "unexpected Secret Manager failure",
                secret=name,
                error=f"{type(exc).__name__}",
            )
            raise SecretUnavailable(
                f"Secret Manager failed for {name} ({type(exc).__name__})"
            ) from exc
        payload = response.payload
        if payload.data_crc32c and _crc32c(payload.data) != payload.data_crc32c:
            raise SecretUnavailable(f"secret {name} arrived corrupted (CRC32C mismatch)")
        try:
            value = bytes(payload.data).decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise ConfigError(f"secret {name} is not UTF-8 text") from exc
        if problem := credential_problem(value):
            raise ConfigError(f"secret {name} {problem}")
        return value

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
