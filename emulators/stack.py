"""`make run`: both stand-ins plus the function, as one local stack on 127.0.0.1.

The Secret Manager and AI Gateway emulators run in this process; the function runs as the plain
`functions-framework --target=prompt` it is in production, reading its secrets from the
Secret Manager emulator through the real client library. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from emulators.delivery_stack import DeliveryStack
from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "local-project"
# Fake credentials for the local stack only; the emulators accept exactly these.
LOCAL_GATEWAY_TOKEN = "local-gateway-token"
LOCAL_OPENAI_KEY = "sk-local-openai-key"
START_TIMEOUT_SECONDS = 30.0


def main() -> int:
    """Start the stack and serve until interrupted."""
    function_port = int(os.environ.get("PORT", "8080"))
    gateway_port = int(os.environ.get("GATEWAY_EMULATOR_PORT", "8787"))
    secrets_port = int(os.environ.get("SECRETMANAGER_EMULATOR_PORT", "8086"))

    secret_manager = SecretManagerEmulator(
        {
            f"projects/{PROJECT}/secrets/aig-token": LOCAL_GATEWAY_TOKEN,
            f"projects/{PROJECT}/secrets/openai-key": LOCAL_OPENAI_KEY,
        }
    )
    secret_manager.start(port=secrets_port)
    gateway = GatewayEmulator(token=LOCAL_GATEWAY_TOKEN, openai_key=LOCAL_OPENAI_KEY)
    gateway.start(port=gateway_port)

    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(function_port),
        "AIG_BASE_URL": gateway.base_url("local-account", "local-gateway"),
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "AIG_TOKEN_SECRET": "aig-token",
        "OPENAI_API_KEY_SECRET": "openai-key",
        "SECRETMANAGER_EMULATOR_HOST": secret_manager.address,
    }
    delivery = DeliveryStack(PROJECT, ROOT)  # result delivery: docs/delivery.md
    bin_dir = Path(sys.executable).parent
    try:
        env.update(delivery.start(env))
    except BaseException:
        delivery.stop()
        gateway.stop()
        secret_manager.stop()
        raise
    function = subprocess.Popen(
        [str(bin_dir / "functions-framework"), "--target=prompt"], cwd=ROOT, env=env
    )
    try:
        _wait_for_port(function, function_port)
        banner = _banner(function_port, env["AIG_BASE_URL"], secret_manager.address)
        print(banner + delivery.banner(), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: function.terminate())
        return function.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if function.poll() is None:
            function.terminate()
            function.wait(timeout=10)
        delivery.stop()
        gateway.stop()
        secret_manager.stop()


def _wait_for_port(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("functions-framework exited during start-up; see the lines above")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)  # polling interval while the port is not yet open
    raise SystemExit(f"functions-framework did not open port {port}")


def _banner(port: int, gateway_url: str, secrets_address: str) -> str:
    return f"""
  prompt function      http://localhost:{port}
  AI Gateway emulator  {gateway_url}
  Secret Manager emu.  {secrets_address} (plaintext gRPC)

  Try:
    curl -s localhost:{port} -H 'content-type: application/json' \\
      -d '{{"prompt": "Say hello"}}'

  Ctrl-C stops all three.
"""


if __name__ == "__main__":
    sys.exit(main())
