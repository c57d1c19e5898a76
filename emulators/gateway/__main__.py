"""``python -m emulators.gateway``: the gateway emulator as a process of its own."""

from __future__ import annotations

import argparse
import sys

from emulators._server import serve_until_signalled
from emulators.gateway._emulator import GatewayEmulator

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.gateway", description="Cloudflare AI Gateway (OpenAI) emulator"
    )
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    parser.add_argument("--token", required=True, help="the cf-aig-authorization token to accept")
    parser.add_argument("--openai-key", help="the provider key to accept in Authorization")
    parser.add_argument(
        "--require-openai-key",
        action="store_true",
        help="answer a gateway 400 when no Authorization header comes (BYOK without a stored key)",
    )
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args(argv)
    emulator = GatewayEmulator(
        token=args.token,
        openai_key=args.openai_key,
        require_openai_key=args.require_openai_key,
        delay_ms=args.delay_ms,
    )

    def start() -> str:
        return f"http://127.0.0.1:{emulator.start('127.0.0.1', args.port)}"

    return serve_until_signalled(emulator.name, start, emulator.stop)


if __name__ == "__main__":
    sys.exit(main())
