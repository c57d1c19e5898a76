"""Fixtures (a plugin, registered in tests/conftest.py): both local stand-ins, and
functions-framework processes configured against them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator
from emulators.stack import function_env
from tests.support.constants import CREDENTIALS
from tests.support.servers import FunctionServer, ServerFactory


@pytest.fixture(scope="session")
def secret_manager() -> Iterator[SecretManagerEmulator]:
    """The Secret Manager emulator, seeded with the gateway token and the OpenAI key."""
    emulator = CREDENTIALS.secret_manager()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def gateway() -> Iterator[GatewayEmulator]:
    """The AI Gateway emulator, accepting TOKEN and OPENAI_KEY."""
    emulator = CREDENTIALS.gateway()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("function-logs")


@pytest.fixture(scope="session")
def serve(
    gateway: GatewayEmulator, secret_manager: SecretManagerEmulator, log_dir: Path
) -> Iterator[ServerFactory]:
    """Start (once per distinct configuration) a function process; `secrets=` picks the source.

    secrets="manager": token and key from the Secret Manager emulator (the default);
    secrets="env": token from AIG_TOKEN, no OpenAI key (BYOK); extra keyword arguments are
    environment variables, which override these.
    """
    running: dict[tuple[object, ...], FunctionServer] = {}

    def start(target: str = "prompt", secrets: str = "manager", **env: str) -> FunctionServer:
        key = (target, secrets, *sorted(env.items()))
        if key not in running:
            base = function_env(
                CREDENTIALS,
                gateway=gateway,
                secret_manager=secret_manager if secrets == "manager" else None,
                key_in_env=False,
            )
            log_path = log_dir / f"function-{len(running)}.log"
            running[key] = FunctionServer(target, base | env, log_path)
        return running[key]

    yield start
    for server in running.values():
        server.stop()
