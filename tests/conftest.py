"""Shared fixtures: both local stand-ins, and functions-framework processes configured against them.

Every answer and log line these tests produce is scanned at the end of the session for every
secret value they use; a single hit fails the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator
from emulators.stack import Credentials, function_env
from tests._servers import FunctionServer

CREDENTIALS = Credentials(
    name="test", token="aig-test-token-7f3a9c1e5d", openai_key="sk-test-openai-key-2b8d4e6f0a"
)
PROJECT = CREDENTIALS.project
TOKEN = CREDENTIALS.token
OPENAI_KEY = CREDENTIALS.openai_key
TOKEN_SECRET = CREDENTIALS.token_secret
KEY_SECRET = CREDENTIALS.key_secret
# The value a rotation test moves the gateway token to.
ROTATED_TOKEN = "aig-rotated-token-9c8b7a6f5e"
SECRET_VALUES = (TOKEN, OPENAI_KEY, ROTATED_TOKEN)

ServerFactory = Callable[..., FunctionServer]

# Result delivery: the Pub/Sub and Cloud Storage emulators (tests/_google.py).
pytest_plugins = ["tests._google"]


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any secret value reached a captured log line or an answer, or if any line
    a function process wrote is not one JSON object with `severity` and `message`."""
    from tests import _servers

    hits = _servers.scan_for_secrets(SECRET_VALUES)
    if hits:
        print("\nSECRET LEAK: secret values found in:\n  " + "\n  ".join(hits))
        session.exitstatus = 1
    not_json = _servers.non_json_lines()
    if not_json:
        print(
            "\nNOT JSON: function log lines that are not JSON objects:\n  " + "\n  ".join(not_json)
        )
        session.exitstatus = 1
