"""A local stand-in for Secret Manager's ``AccessSecretVersion`` (plaintext gRPC).

It speaks the real protocol with the client library's own message classes, so the real
``google-cloud-secret-manager`` client (sync or asyncio) works against it unchanged:

    transport = SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(emulator.address))
    client = SecretManagerServiceClient(transport=transport)

Behaviour copied from the real service: ``latest`` resolves to the newest enabled version,
unknown names give NOT_FOUND with the service's wording, disabled versions FAILED_PRECONDITION,
and every payload carries its CRC32C. Tests can inject faults, delays and bad checksums.

CLI: ``python -m emulators.secretmanager --port 8085 [--secret projects/P/secrets/S=VALUE]...
[--seed FILE.json]``. Secret values are never printed or logged.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import threading
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from typing import Any, NoReturn

import google_crc32c
import grpc
from google.cloud.secretmanager_v1 import (
    AccessSecretVersionRequest,
    AccessSecretVersionResponse,
    SecretPayload,
)

from emulators._server import Lifecycle, serve_until_signalled

__all__ = ["SecretManagerEmulator", "main"]

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
_SECRET_NAME = re.compile(r"projects/[^/]+/secrets/[^/]+")
_VERSION_NAME = re.compile(r"(projects/[^/]+/secrets/[^/]+)/versions/(latest|[1-9][0-9]*)")
# The real service's wording for the faults tests are most likely to inject.
_FAULT_MESSAGES = {
    grpc.StatusCode.PERMISSION_DENIED: (
        "Permission 'secretmanager.versions.access' denied for resource '{name}' "
        "(or it may not exist)."
    ),
    grpc.StatusCode.UNAVAILABLE: "The service is currently unavailable.",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "Quota exceeded for quota metric 'Access requests'.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "Deadline Exceeded",
}


@dataclass(slots=True)
class _Version:
    data: bytes
    enabled: bool = True


@dataclass(slots=True)
class _Fault:
    code: Any  # grpc.StatusCode
    remaining: int | None  # None: until cleared


def _secret_name(name: str) -> str:
    if not _SECRET_NAME.fullmatch(name):
        raise ValueError(f"not a secret name (projects/P/secrets/S): {name!r}")
    return name


def _abort(context: Any, code: Any, message: str) -> NoReturn:
    context.abort(code, message)  # raises, ending the RPC with that status
    raise AssertionError("grpc context.abort returned")


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


class SecretManagerEmulator(Lifecycle):
    """Secrets keyed by ``projects/P/secrets/S``; versions are numbered from 1.

    All methods are thread-safe and may be called while the server runs.
    """

    def __init__(self, secrets: Mapping[str, str | bytes] | None = None) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, list[_Version]] = {}
        self._faults: dict[str | None, _Fault] = {}
        self._corrupt: set[str] = set()
        self._counts: collections.Counter[str] = collections.Counter()
        self._delay = 0.0
        self._server: Any = None
        self._address: str | None = None
        for name, value in (secrets or {}).items():
            self.set_secret(name, value)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen (plaintext) and serve on gRPC's own threads; returns the bound port."""
        if self._server is not None:
            raise RuntimeError("secret manager emulator already started")
        handler = grpc.unary_unary_rpc_method_handler(
            self._access,
            request_deserializer=AccessSecretVersionRequest.deserialize,
            response_serializer=AccessSecretVersionResponse.serialize,
        )
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="secretmanager-emulator"),
            handlers=[
                grpc.method_handlers_generic_handler(SERVICE, {"AccessSecretVersion": handler})
            ],
            # Without this a second server could share the port and steal calls.
            options=[("grpc.so_reuseport", 0)],
        )
        bound = int(server.add_insecure_port(f"{host}:{port}"))
        if bound == 0:
            raise OSError(f"could not bind {host}:{port}")
        server.start()
        self._server = server
        self._address = f"{host}:{bound}"
        return bound

    def stop(self) -> None:
        """Stop serving; calls in flight (a delay included) get 0.5 s, then are cancelled.

        A short grace rather than none: cancelling outright sends clients an error GOAWAY that
        grpc logs to stderr.
        """
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=0.5).wait()

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> str:
        """``host:port`` for ``grpc.insecure_channel``."""
        if self._address is None:
            raise RuntimeError("secret manager emulator not started")
        return self._address

    # --- data ------------------------------------------------------------------------------

    def set_secret(self, name: str, value: str | bytes) -> int:
        """Add a version (it becomes ``latest``); returns its number."""
        with self._lock:
            versions = self._secrets.setdefault(_secret_name(name), [])
            versions.append(_Version(_as_bytes(value)))
            return len(versions)

    def disable_version(self, name: str, version: int) -> None:
        self._set_enabled(name, version, False)

    def enable_version(self, name: str, version: int) -> None:
        self._set_enabled(name, version, True)

    def _set_enabled(self, name: str, version: int, enabled: bool) -> None:
        with self._lock:
            versions = self._secrets.get(name, [])
            if not 1 <= version <= len(versions):
                raise KeyError(f"{name}/versions/{version}")
            versions[version - 1].enabled = enabled

    # --- test controls ---------------------------------------------------------------------

    def set_fault(
        self, name: str | None, code: grpc.StatusCode | None, *, times: int | None = None
    ) -> None:
        """Fail calls for secret ``name`` (None: every secret) with ``code``.

        ``code=None`` clears the fault; ``times=N`` fails only the next N calls. A fault set for
        one secret wins over the one for every secret.
        """
        with self._lock:
            if code is None:
                self._faults.pop(name, None)
            else:
                self._faults[name] = _Fault(code, times)

    def set_delay(self, seconds: float) -> None:
        """Make every call wait this long before answering (for client timeout tests)."""
        with self._lock:
            self._delay = seconds

    def corrupt_checksum(self, name: str, on: bool = True) -> None:
        """Answer a wrong ``data_crc32c`` for this secret, as a corrupted payload would have."""
        with self._lock:
            if on:
                self._corrupt.add(name)
            else:
                self._corrupt.discard(name)

    def access_count(self, name: str) -> int:
        """Calls seen for ``projects/P/secrets/S``, any version, faulted ones included."""
        with self._lock:
            return self._counts[name]

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    # --- the RPC ---------------------------------------------------------------------------

    def _access(self, request: Any, context: Any) -> Any:
        name: str = request.name
        match = _VERSION_NAME.fullmatch(name)
        if match is None:
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "Invalid resource field value in the request.",
            )
        secret, version = match.group(1), match.group(2)
        with self._lock:
            self._counts[secret] += 1
            delay = self._delay
        if delay > 0:
            # Wake early if the call ends first (client deadline, or stop() cancelling it).
            ended = threading.Event()
            context.add_callback(ended.set)
            ended.wait(delay)
        code = self._take_fault(secret)
        if code is not None:
            message = _FAULT_MESSAGES.get(code, "Emulated fault {code}.")
            _abort(context, code, message.format(name=name, code=code.name))
        with self._lock:
            status, detail, resolved = self._resolve(secret, version)
            corrupt = secret in self._corrupt
        if status is not None:
            _abort(context, status, detail)
        checksum = google_crc32c.value(resolved.data)
        if corrupt:
            checksum ^= 0xFFFFFFFF
        return AccessSecretVersionResponse(
            name=f"{secret}/versions/{detail}",
            payload=SecretPayload(data=resolved.data, data_crc32c=checksum),
        )

    def _take_fault(self, secret: str) -> Any:
        with self._lock:
            key = secret if secret in self._faults else None
            fault = self._faults.get(key)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[key]
            return fault.code

    def _resolve(self, secret: str, version: str) -> tuple[Any, str, _Version]:
        """(error code or None, message or version number, version). Call with the lock held."""
        versions = self._secrets.get(secret)
        if not versions:
            message = f"Secret [{secret}] not found or has no versions."
            return grpc.StatusCode.NOT_FOUND, message, _Version(b"")
        if version == "latest":
            enabled = [n for n, v in enumerate(versions, 1) if v.enabled]
            number = enabled[-1] if enabled else len(versions)
        else:
            number = int(version)
            if number > len(versions):
                message = f"Secret Version [{secret}/versions/{number}] not found."
                return grpc.StatusCode.NOT_FOUND, message, _Version(b"")
        found = versions[number - 1]
        if not found.enabled:
            message = f"Secret Version [{secret}/versions/{number}] is in DISABLED state."
            return grpc.StatusCode.FAILED_PRECONDITION, message, found
        return None, str(number), found


def _parse_secrets(pairs: list[str], seed: str | None) -> dict[str, str]:
    secrets: dict[str, str] = {}
    if seed is not None:
        with open(seed, encoding="utf-8") as file:
            loaded = json.load(file)
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise ValueError(f"{seed}: expected a JSON object of secret name -> string value")
        secrets.update(loaded)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--secret takes NAME=VALUE, got {name!r}")
        secrets[name] = value
    for name in secrets:
        _secret_name(name)
    return secrets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.secretmanager", description="Secret Manager emulator (gRPC)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085, help="0 picks a free port")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="projects/P/secrets/S=VALUE",
        help="a secret (version 1); repeatable",
    )
    parser.add_argument("--seed", metavar="FILE.json", help="JSON object: secret name -> value")
    args = parser.parse_args(argv)
    try:
        secrets = _parse_secrets(args.secret, args.seed)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))

    emulator = SecretManagerEmulator(secrets)

    def start() -> str:
        emulator.start(args.host, args.port)  # grpc raises RuntimeError when it cannot bind
        return emulator.address

    return serve_until_signalled("secretmanager emulator", start, emulator.stop)


if __name__ == "__main__":
    sys.exit(main())
