"""emulators/stack.py: the one way tests, bench and `make run` build the function's process."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator
from emulators.stack import (
    Credentials,
    StartError,
    free_port,
    function_command,
    function_env,
    process_env,
    wait_for_port,
)

CREDENTIALS = Credentials(name="unit", token="unit-token-3c2b1a", openai_key="sk-unit-key-6f5e4d")


def test_credentials_name_the_project_and_both_secrets() -> None:
    assert CREDENTIALS.project == "unit-project"
    assert CREDENTIALS.token_secret == "projects/unit-project/secrets/aig-token"
    assert CREDENTIALS.key_secret == "projects/unit-project/secrets/openai-key"


def test_function_env_reads_secrets_from_the_manager_when_given(
    gateway: GatewayEmulator, secret_manager: SecretManagerEmulator
) -> None:
    """Secrets by name only: no value travels in the environment."""
    env = function_env(CREDENTIALS, gateway=gateway, secret_manager=secret_manager)
    assert env == {
        "AIG_BASE_URL": gateway.base_url("unit-account", "unit-gateway"),
        "GOOGLE_CLOUD_PROJECT": "unit-project",
        "AIG_TOKEN_SECRET": "aig-token",
        "OPENAI_API_KEY_SECRET": "projects/unit-project/secrets/openai-key",
        "SECRETMANAGER_EMULATOR_HOST": secret_manager.address,
    }
    assert CREDENTIALS.token not in env.values()


@pytest.mark.parametrize(("key_in_env", "has_key"), [(True, True), (False, False)])
def test_function_env_puts_secrets_in_the_environment_without_a_manager(
    gateway: GatewayEmulator, key_in_env: bool, has_key: bool
) -> None:
    env = function_env(CREDENTIALS, gateway=gateway, key_in_env=key_in_env)
    assert env["AIG_TOKEN"] == CREDENTIALS.token
    assert ("OPENAI_API_KEY" in env) is has_key
    assert not any(name.endswith("_SECRET") for name in env)


def test_process_env_keeps_the_server_on_loopback() -> None:
    env = process_env(8123)
    assert (env["HOST"], env["PORT"]) == ("127.0.0.1", "8123")
    assert env["PATH"].split(":")[0] == str(function_command()[0]).rsplit("/", 1)[0]


def test_free_port_is_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))  # raises if something holds it


def test_wait_for_port_names_a_process_that_exited() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(StartError, match=r"exited during start-up \(status 3\)"):
        wait_for_port(process, free_port())


def test_wait_for_port_gives_up_on_a_port_that_never_opens() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    port = free_port()
    try:
        with pytest.raises(StartError, match=f"did not open port {port}"):
            wait_for_port(process, port, timeout=0.3)
    finally:
        process.kill()
        process.wait()
