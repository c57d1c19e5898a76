"""The Secret Manager stand-in, tested with the real ``google-cloud-secret-manager`` client
(sync and asyncio) over plaintext gRPC, and its command line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import grpc
import pytest
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.cloud import secretmanager_v1
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcAsyncIOTransport,
    SecretManagerServiceGrpcTransport,
)

from emulators.secretmanager import SecretManagerEmulator
from tests.support.emulators import (
    NO_RETRY,
    OTHER,
    SECRET,
    access,
    cli,
)

# === Secret Manager ==========================================================================


@pytest.fixture
def secrets() -> Iterator[SecretManagerEmulator]:
    with SecretManagerEmulator({SECRET: "key-v1", OTHER: b"token-v1"}) as emulator:
        yield emulator


@pytest.fixture
def sm(secrets: SecretManagerEmulator) -> Iterator[Any]:
    channel = grpc.insecure_channel(secrets.address)
    transport = SecretManagerServiceGrpcTransport(channel=channel)
    yield secretmanager_v1.SecretManagerServiceClient(transport=transport)
    channel.close()


def test_secret_latest_is_newest_version_with_full_name_and_checksum(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    assert secrets.set_secret(SECRET, "key-v2") == 2
    answer = access(sm, f"{SECRET}/versions/latest")
    assert answer.name == f"{SECRET}/versions/2"
    assert answer.payload.data == b"key-v2"
    assert answer.payload.data_crc32c == google_crc32c.value(b"key-v2")


def test_secret_numbered_version(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.set_secret(SECRET, "key-v2")
    answer = access(sm, f"{SECRET}/versions/1")
    assert (answer.name, answer.payload.data) == (f"{SECRET}/versions/1", b"key-v1")
    assert access(sm, f"{OTHER}/versions/latest").payload.data == b"token-v1"


def test_secret_disabled_version(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.set_secret(SECRET, "key-v2")
    secrets.disable_version(SECRET, 2)
    assert access(sm, f"{SECRET}/versions/latest").name == f"{SECRET}/versions/1"
    with pytest.raises(gexc.FailedPrecondition, match=r"versions/2\] is in DISABLED state"):
        access(sm, f"{SECRET}/versions/2")
    secrets.enable_version(SECRET, 2)
    assert access(sm, f"{SECRET}/versions/latest").payload.data == b"key-v2"


def test_secret_not_found_messages(sm: Any) -> None:
    missing = "projects/demo/secrets/nope"
    with pytest.raises(gexc.NotFound) as err:
        access(sm, f"{missing}/versions/latest")
    assert err.value.message == f"Secret [{missing}] not found or has no versions."
    with pytest.raises(gexc.NotFound, match=r"Secret Version \[.*/versions/7\] not found"):
        access(sm, f"{SECRET}/versions/7")
    with pytest.raises(gexc.InvalidArgument):
        access(sm, "projects/demo/secrets")


def test_secret_permission_denied_for_the_next_n_calls(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    secrets.set_fault(SECRET, grpc.StatusCode.PERMISSION_DENIED, times=2)
    for _ in range(2):
        with pytest.raises(gexc.PermissionDenied, match=r"secretmanager\.versions\.access"):
            access(sm, f"{SECRET}/versions/latest")
    assert access(sm, f"{SECRET}/versions/latest").payload.data == b"key-v1"
    assert access(sm, f"{OTHER}/versions/latest").payload.data == b"token-v1"
    assert secrets.access_count(SECRET) == 3


def test_secret_unavailable_everywhere_until_cleared(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    secrets.set_fault(None, grpc.StatusCode.UNAVAILABLE)
    for name in (SECRET, OTHER):
        with pytest.raises(gexc.ServiceUnavailable):
            access(sm, f"{name}/versions/latest")
    secrets.set_fault(None, None)
    assert access(sm, f"{SECRET}/versions/latest").payload.data == b"key-v1"


def test_secret_unavailable_twice_is_absorbed_by_client_retry(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    secrets.set_fault(SECRET, grpc.StatusCode.UNAVAILABLE, times=2)
    retry = gretry.Retry(
        predicate=gretry.if_exception_type(gexc.ServiceUnavailable),
        initial=0.01,
        maximum=0.02,
        timeout=5,
    )
    answer = sm.access_secret_version(name=f"{SECRET}/versions/latest", retry=retry)
    assert answer.payload.data == b"key-v1"
    assert secrets.access_count(SECRET) == 3


def test_secret_corrupted_checksum(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.corrupt_checksum(SECRET)
    answer = access(sm, f"{SECRET}/versions/latest")
    assert answer.payload.data_crc32c != google_crc32c.value(answer.payload.data)
    secrets.corrupt_checksum(SECRET, on=False)
    answer = access(sm, f"{SECRET}/versions/latest")
    assert answer.payload.data_crc32c == google_crc32c.value(answer.payload.data)


def test_secret_delay_trips_the_client_deadline(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.set_delay(5)
    started = time.monotonic()
    with pytest.raises(gexc.DeadlineExceeded):
        access(sm, f"{SECRET}/versions/latest", timeout=0.2)
    assert time.monotonic() - started < 2
    secrets.set_delay(0)
    assert access(sm, f"{SECRET}/versions/latest", timeout=2).payload.data == b"key-v1"


def test_secret_access_counts(secrets: SecretManagerEmulator, sm: Any) -> None:
    access(sm, f"{SECRET}/versions/latest")
    access(sm, f"{SECRET}/versions/1")
    with pytest.raises(gexc.NotFound):
        access(sm, f"{SECRET}/versions/9")
    assert secrets.access_count(SECRET) == 3
    assert secrets.access_count(OTHER) == 0
    secrets.reset_counts()
    assert secrets.access_count(SECRET) == 0


def test_secret_async_client(secrets: SecretManagerEmulator) -> None:
    async def run() -> tuple[Any, Any]:
        channel = grpc.aio.insecure_channel(secrets.address)
        transport = SecretManagerServiceGrpcAsyncIOTransport(channel=channel)
        client = secretmanager_v1.SecretManagerServiceAsyncClient(transport=transport)
        try:
            answer = await client.access_secret_version(name=f"{SECRET}/versions/latest")
            secrets.set_fault(SECRET, grpc.StatusCode.PERMISSION_DENIED, times=1)
            with pytest.raises(gexc.PermissionDenied) as err:
                await client.access_secret_version(name=f"{SECRET}/versions/1", retry=NO_RETRY)
            return answer, err.value
        finally:
            await channel.close()

    answer, error = asyncio.run(run())
    assert answer.name == f"{SECRET}/versions/1"
    assert answer.payload.data_crc32c == google_crc32c.value(b"key-v1")
    assert isinstance(error, gexc.PermissionDenied)


def test_secret_names_are_checked() -> None:
    with pytest.raises(ValueError, match="not a secret name"):
        SecretManagerEmulator({"demo/openai-key": "x"})


def test_secretmanager_cli(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({OTHER: "seeded-value"}))
    args = ("--port", "0", "--secret", f"{SECRET}=cli=value", "--seed", str(seed))
    with cli("emulators.secretmanager", *args) as (process, line):
        assert line.startswith("secretmanager emulator listening on 127.0.0.1:")
        channel = grpc.insecure_channel(line.split()[-1])
        client = secretmanager_v1.SecretManagerServiceClient(
            transport=SecretManagerServiceGrpcTransport(channel=channel)
        )
        assert access(client, f"{SECRET}/versions/latest").payload.data == b"cli=value"
        assert access(client, f"{OTHER}/versions/1").payload.data == b"seeded-value"
        channel.close()
        process.terminate()
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0
    assert "value" not in line + output
