"""SecretManagerStore against the Secret Manager emulator through the real async client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from emulators.secretmanager import SecretManagerEmulator
from relay import ConfigError, SecretManagerStore, SecretUnavailable

NAME = "projects/p/secrets/s"


@pytest.fixture
def emulator() -> Iterator[SecretManagerEmulator]:
    with SecretManagerEmulator({NAME: " value-with-padding-1234\n"}) as running:
        yield running


def access(emulator: SecretManagerEmulator, name: str = f"{NAME}/versions/latest") -> str:
    async def run() -> str:
        return await SecretManagerStore(emulator.address).access(name, timeout=1.0)

    return asyncio.run(run())


def test_value_is_read_and_trimmed(emulator: SecretManagerEmulator) -> None:
    """The value comes back with the whitespace `echo` adds trimmed."""
    assert access(emulator) == "value-with-padding-1234"


def test_control_characters_are_config_error(emulator: SecretManagerEmulator) -> None:
    """A value with a newline inside would split a header: config_error, value not echoed."""
    emulator.set_secret(NAME, "abc\ndef-hidden")
    with pytest.raises(ConfigError) as info:
        access(emulator)
    assert "hidden" not in info.value.message


def test_corrupted_checksum_is_unavailable(emulator: SecretManagerEmulator) -> None:
    """A CRC32C mismatch is treated as a transient failure."""
    emulator.corrupt_checksum(NAME)
    with pytest.raises(SecretUnavailable):
        access(emulator)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (grpc.StatusCode.NOT_FOUND, ConfigError),
        (grpc.StatusCode.PERMISSION_DENIED, ConfigError),
        (grpc.StatusCode.UNAVAILABLE, SecretUnavailable),
        (grpc.StatusCode.INTERNAL, SecretUnavailable),
    ],
)
def test_status_codes_map_to_contract_errors(
    emulator: SecretManagerEmulator, code: grpc.StatusCode, error: type[Exception]
) -> None:
    """Each gRPC failure becomes the contract's error; UNAVAILABLE ends within the budget."""
    emulator.set_fault(NAME, code)
    with pytest.raises(error):
        access(emulator)


def test_disabled_version_is_config_error(emulator: SecretManagerEmulator) -> None:
    """A disabled version cannot be read: config_error naming the secret."""
    emulator.disable_version(NAME, 1)
    with pytest.raises(ConfigError) as info:
        access(emulator, f"{NAME}/versions/1")
    assert NAME in info.value.message
