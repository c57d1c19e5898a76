"""Credentials for one gateway attempt: read within the request's deadline, refetched once after
a 401 (a rotated secret), and the first read overlapped with building the TLS context."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from ._deadline import within
from ._errors import SecretUnavailable, UpstreamAuth, UpstreamTimeout
from ._logging import log
from ._secrets import Credentials, Secrets
from ._settings import Settings

__all__ = ["CredentialSource"]


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
