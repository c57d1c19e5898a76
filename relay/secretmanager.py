"""Google Secret Manager through the official async client: one secret version read, checked
and mapped to the contract's errors. Google's libraries are imported on the first read only."""

from __future__ import annotations

import asyncio
from typing import Any

from .errors import ConfigError, SecretUnavailable
from .logs import log
from .settings import credential_problem

__all__ = [
    "SECRET_ATTEMPT_TIMEOUT_SECONDS",
    "SECRET_RETRY_INITIAL_DELAY",
    "SECRET_RETRY_MAX_DELAY",
    "SecretManagerStore",
]

# One attempt may take this long before Secret Manager is retried (within SECRET_TIMEOUT_SECONDS).
SECRET_ATTEMPT_TIMEOUT_SECONDS = 2.0
SECRET_RETRY_INITIAL_DELAY = 0.1
SECRET_RETRY_MAX_DELAY = 1.0


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
