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
from tests._servers import FunctionServer

PROJECT = "test-project"
TOKEN = "aig-test-token-7f3a9c1e5d"
OPENAI_KEY = "sk-test-openai-key-2b8d4e6f0a"
TOKEN_SECRET = f"projects/{PROJECT}/secrets/aig-token"
KEY_SECRET = f"projects/{PROJECT}/secrets/openai-key"
# The value a rotation test moves the gateway token to.
ROTATED_TOKEN = "aig-rotated-token-9c8b7a6f5e"
SECRET_VALUES = (TOKEN, OPENAI_KEY, ROTATED_TOKEN)

ServerFactory = Callable[..., FunctionServer]


@pytest.fixture(scope="session")
def secret_manager() -> Iterator[SecretManagerEmulator]:
    """The Secret Manager emulator, seeded with the gateway token and the OpenAI key."""
    emulator = SecretManagerEmulator({TOKEN_SECRET: TOKEN, KEY_SECRET: OPENAI_KEY})
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def gateway() -> Iterator[GatewayEmulator]:
    """The AI Gateway emulator, accepting TOKEN and OPENAI_KEY."""
    emulator = GatewayEmulator(token=TOKEN, openai_key=OPENAI_KEY)
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
            base = {
                "AIG_BASE_URL": gateway.base_url("test-account", "test-gateway"),
                "GOOGLE_CLOUD_PROJECT": PROJECT,
            }
            if secrets == "manager":
                base |= {
                    # Two of the three name forms: bare id, and projects/P/secrets/S.
                    "AIG_TOKEN_SECRET": "aig-token",
                    "OPENAI_API_KEY_SECRET": KEY_SECRET,
                    "SECRETMANAGER_EMULATOR_HOST": secret_manager.address,
                }
            else:
                base["AIG_TOKEN"] = TOKEN
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
