"""One way to start the local stack on 127.0.0.1: the function and every stand-in it talks to.

`make run` (`python -m emulators.stack`) starts six parts, four of them processes of their own:

- the `prompt` function: `functions-framework --target=prompt` (a process), on $PORT (8080);
- the AI Gateway emulator (in this process), on $GATEWAY_EMULATOR_PORT (8787);
- the Secret Manager emulator (in this process, plaintext gRPC), on $SECRETMANAGER_EMULATOR_PORT
  (8086), seeded with the gateway token and the OpenAI key;
- result delivery (`emulators.delivery_stack`): the `prompt_push` function (a process) on
  $EVENT_PORT (8081), Google's Pub/Sub emulator (a process) on $PUBSUB_EMULATOR_PORT (8085),
  whose push subscriptions post the prompts topic straight to `prompt_push`, and the Cloud
  Storage emulator (a process) on $STORAGE_EMULATOR_PORT (9023). With PUBSUB_TRIGGER=eventarc,
  `prompt_event` runs instead, fed by the Eventarc stand-in (a seventh part, in this process).
  Without Google's Pub/Sub emulator installed these are left out and the first three run alone.

The tests (tests/conftest.py) and the benchmarks (bench/) build the function's process the same
way from here: `Credentials` seeds both emulators, `function_env` is the function's settings
against them, `process_env` the rest of a server's environment, `function_command` the plain
`functions-framework --target=prompt` it is in production. Ctrl-C on `make run` stops everything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulators._ports import (
    START_TIMEOUT_SECONDS,
    StartError,
    free_port,
    stop_process,
    wait_for_port,
)
from emulators.delivery_stack import DeliveryStack
from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator

__all__ = [
    "BIN",
    "LOCAL",
    "ROOT",
    "START_TIMEOUT_SECONDS",
    "Credentials",
    "StartError",
    "free_port",
    "function_command",
    "function_env",
    "function_process",
    "main",
    "process_env",
    "stop_process",
    "wait_for_port",
]

ROOT = Path(__file__).resolve().parent.parent
# The virtualenv's bin directory: functions-framework lives next to this interpreter.
BIN = Path(sys.executable).parent


@dataclass(frozen=True, slots=True)
class Credentials:
    """Fake credentials for one local stack; the emulators accept exactly these.

    `name` prefixes the project, the gateway account and the gateway id ("test" gives
    test-project, test-account, test-gateway), so a log line says which stack it came from.
    """

    name: str
    token: str
    openai_key: str

    @property
    def project(self) -> str:
        return f"{self.name}-project"

    @property
    def token_secret(self) -> str:
        return f"projects/{self.project}/secrets/aig-token"

    @property
    def key_secret(self) -> str:
        return f"projects/{self.project}/secrets/openai-key"

    def secret_manager(self) -> SecretManagerEmulator:
        """A Secret Manager emulator (not started) seeded with the token and the key."""
        return SecretManagerEmulator(
            {self.token_secret: self.token, self.key_secret: self.openai_key}
        )

    def gateway(self, **options: Any) -> GatewayEmulator:
        """An AI Gateway emulator (not started) that accepts the token and the key."""
        return GatewayEmulator(token=self.token, openai_key=self.openai_key, **options)

    def base_url(self, gateway: GatewayEmulator) -> str:
        return gateway.base_url(f"{self.name}-account", f"{self.name}-gateway")


LOCAL = Credentials(name="local", token="local-gateway-token", openai_key="sk-local-openai-key")


def function_env(
    credentials: Credentials,
    *,
    gateway: GatewayEmulator,
    secret_manager: SecretManagerEmulator | None = None,
    key_in_env: bool = True,
) -> dict[str, str]:
    """The function's settings against the stand-ins.

    With `secret_manager`, both secrets are read from it (the token by its bare id, the key by
    its full name: two of the three name forms). Without, the token is in AIG_TOKEN and, unless
    `key_in_env` is false (BYOK: the caller brings the key), the key in OPENAI_API_KEY.
    """
    env = {
        "AIG_BASE_URL": credentials.base_url(gateway),
        "GOOGLE_CLOUD_PROJECT": credentials.project,
    }
    if secret_manager is not None:
        return env | {
            "AIG_TOKEN_SECRET": "aig-token",
            "OPENAI_API_KEY_SECRET": credentials.key_secret,
            "SECRETMANAGER_EMULATOR_HOST": secret_manager.address,
        }
    env["AIG_TOKEN"] = credentials.token
    if key_in_env:
        env["OPENAI_API_KEY"] = credentials.openai_key
    return env


def process_env(port: int, *, bin_dir: Path = BIN) -> dict[str, str]:
    """A minimal environment for a server on 127.0.0.1:`port`, `bin_dir` first on the PATH."""
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        # HOST keeps the server on loopback; the command line stays the plain one.
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }


def function_command(target: str = "prompt", *, bin_dir: Path = BIN) -> list[str]:
    """`functions-framework --target=<target>`, as Cloud Functions runs it."""
    return [str(bin_dir / "functions-framework"), f"--target={target}"]


@contextlib.contextmanager
def function_process(
    target: str, env: Mapping[str, str], log_path: Path
) -> Iterator[tuple[str, int]]:
    """`functions-framework --target=<target>` on 127.0.0.1 (a free port), its output in
    `log_path`; yields its URL and pid once it accepts connections, and stops it after."""
    port = free_port()
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            function_command(target),
            cwd=ROOT,
            env={**process_env(port), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                wait_for_port(process, port)
            except StartError as exc:
                raise StartError(f"{exc}:\n{log_path.read_text()[-2000:]}") from exc
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            stop_process(process)


def main() -> int:
    """`make run`: start the stack and serve until interrupted."""
    function_port = int(os.environ.get("PORT", "8080"))
    secret_manager = LOCAL.secret_manager()
    secret_manager.start(port=int(os.environ.get("SECRETMANAGER_EMULATOR_PORT", "8086")))
    gateway = LOCAL.gateway()
    gateway.start(port=int(os.environ.get("GATEWAY_EMULATOR_PORT", "8787")))
    # The caller's own environment passes through, so a setting can be tried with `make run`.
    env = {
        **os.environ,
        **process_env(function_port),
        **function_env(LOCAL, gateway=gateway, secret_manager=secret_manager),
    }
    delivery = DeliveryStack(LOCAL.project, ROOT)  # result delivery: docs/delivery.md
    try:
        env.update(delivery.start(env))
    except BaseException:
        delivery.stop()
        gateway.stop()
        secret_manager.stop()
        raise
    function = subprocess.Popen(function_command(), cwd=ROOT, env=env)
    try:
        try:
            wait_for_port(function, function_port)
        except StartError as exc:
            raise SystemExit(f"functions-framework {exc}; see the lines above") from None
        banner = _banner(function_port, env["AIG_BASE_URL"], secret_manager.address)
        print(banner + delivery.banner() + _stops(*delivery.parts), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: function.terminate())
        return function.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_process(function)
        delivery.stop()
        gateway.stop()
        secret_manager.stop()


def _banner(port: int, gateway_url: str, secrets_address: str) -> str:
    return f"""
  prompt function      http://localhost:{port} (own process)
  AI Gateway emulator  {gateway_url} (in this process)
  Secret Manager emu.  {secrets_address} (plaintext gRPC, in this process)

  Try:
    curl -s localhost:{port} -H 'content-type: application/json' \\
      -d '{{"prompt": "Say hello"}}'
"""


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven")


def _stops(processes: int, in_this: int) -> str:
    """What Ctrl-C stops: the function and the two emulators in this process, and what result
    delivery started (`processes` of their own, `in_this` in this one)."""
    own, here = 1 + processes, 2 + in_this
    own_words = "one own process" if own == 1 else f"{_WORDS[own]} own processes"
    total = _WORDS[own + here]
    return f"\n  Ctrl-C stops all {total}: {own_words} and {_WORDS[here]} parts of this one.\n"


if __name__ == "__main__":
    sys.exit(main())
