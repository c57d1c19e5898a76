"""Secrets: the gateway token and the optional OpenAI key, from Secret Manager or the environment.

Fetched values are cached for SECRET_CACHE_TTL_SECONDS. Concurrent first requests share one fetch
per secret. When a refresh fails transiently, a value fetched earlier keeps being served for up to
SECRET_MAX_STALE_SECONDS (with a warning), so a store outage does not fail requests. Google's
libraries are imported on first use only: a deployment fed by env vars never pays for them.

`CredentialSource` is the gateway client's view: credentials for one attempt read within the
request's deadline, refetched once after a 401 (a rotated secret), and the first read overlapped
with building the TLS context.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .deadline import within
from .errors import ConfigError, SecretUnavailable, UpstreamAuth, UpstreamTimeout
from .logs import log, register_secret
from .secretmanager import SecretManagerStore
from .settings import Secret, Settings

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CredentialSource", "Credentials", "SecretStore", "Secrets"]

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
        token = self._at_hand(token_name) if token_name else settings.aig_token
        key = self._at_hand(key_name) if key_name else settings.openai_key
        if (token is None and token_name) or (key is None and key_name):
            # Something must be fetched: fetch both concurrently. Otherwise answer without
            # suspending, so a request whose deadline is nearly spent is not cut off here.
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

    def _at_hand(self, name: str) -> Secret | None:
        """The cached value of `name` if it may still be served, else None (fetch it)."""
        entry = self._cache.get(name)
        if entry is None:
            return None
        age = self._clock() - entry.fetched_at
        if age < self._settings.secret_cache_ttl:
            return entry.value
        if age <= self._settings.secret_cache_ttl + self._settings.secret_max_stale:
            # Expired but usable: answer now and refresh in the background, so no request
            # waits on Secret Manager while a value is at hand (nor fails while it is down).
            self._start_refresh(name)
            return entry.value
        return None

    async def _get(self, name: str) -> Secret:
        value = self._at_hand(name)
        if value is not None:
            return value
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


def _store_timed_out(doing: str) -> Callable[[], SecretUnavailable]:
    """The error for secret store work cut off by the request's deadline: the store is what kept
    the request from finishing, so secret_unavailable (503), not upstream_timeout (the gateway
    was never asked)."""

    def error() -> SecretUnavailable:
        return SecretUnavailable(
            f"the secret store did not answer within UPSTREAM_TIMEOUT_SECONDS ({doing})"
        )

    return error


_READ_TIMED_OUT = _store_timed_out("reading secrets")
_REFETCH_TIMED_OUT = _store_timed_out("refetching secrets")


class CredentialSource:
    """The gateway client's view of the secrets."""

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        clock: Callable[[], float],
        warm: Callable[[], None],
    ) -> None:
        self._secrets = secrets
        self._clock = clock
        self._warm = warm
        self._warming: asyncio.Future[None] | None = None
        # Secrets from the environment cannot rotate.
        self._rotatable = (
            settings.aig_token_secret is not None or settings.openai_key_secret is not None
        )

    async def current(self, deadline: float) -> Credentials:
        """The credentials to send, read by `deadline` (else secret_unavailable)."""
        if self._clock() >= deadline:
            # The time went before the store was asked (a batch item waiting for its slot):
            # the request ran out of time, the store did nothing wrong.
            raise UpstreamTimeout("UPSTREAM_TIMEOUT_SECONDS ran out before the gateway was asked")
        work = within(self._secrets.credentials(), deadline, self._clock, _READ_TIMED_OUT)
        if self._warming is None:
            # The first call runs `warm` (the TLS context: loading the CA bundle, tens of ms of
            # CPU) in a thread, while the secret store's first fetch waits on the network
            # instead of after it.
            self._warming = asyncio.ensure_future(asyncio.to_thread(self._warm_quietly))
        if self._warming.done():
            return await work
        credentials, _ = await asyncio.gather(work, asyncio.shield(self._warming))
        return credentials

    async def rotated(self, error: UpstreamAuth, deadline: float) -> bool:
        """After a 401, whether secrets were fetched again (perhaps rotated) for one more try.

        Only a 401 can mean "rotated"; a 403 is final. Secrets from the environment cannot
        rotate; ones a refetch confirmed moments ago are current, so a retry changes nothing.
        """
        if error.upstream_status != 401 or not self._rotatable:
            return False
        try:
            refetched = await within(
                self._secrets.refetch(), deadline, self._clock, _REFETCH_TIMED_OUT
            )
        except (UpstreamTimeout, SecretUnavailable):
            return False  # the refusal is the news, not the slow store
        if refetched:
            log(
                "WARNING",
                "upstream refused credentials; refetched secrets",
                event="credentials_refetch",
                upstream_status=401,
            )
        return refetched

    def _warm_quietly(self) -> None:
        # A failure here (a broken CA bundle) is met again, and reported, by the request itself.
        with contextlib.suppress(Exception):
            self._warm()
