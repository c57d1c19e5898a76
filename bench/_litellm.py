"""LiteLLM's proxy as a reference peer: installed for the benchmark only, in its own virtualenv.

`bench/.venv-litellm` (git-ignored by `.venv-*/`) is created and filled on the first run and
reused after that (a marker file names the installed version). When the install or the start
fails, the suite goes on without the column and says why.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import msgspec

from bench._procs import BENCH, Cpus, Server, poll_until_answers, start_server
from bench._venvs import run_steps
from emulators.stack import free_port, process_env

__all__ = [
    "LITELLM_VERSION",
    "MASTER_KEY",
    "MODEL",
    "VENV",
    "chat_body",
    "ensure_installed",
    "start_litellm",
]

# The version this suite was written against; BENCH_LITELLM_VERSION overrides it.
LITELLM_VERSION = os.environ.get("BENCH_LITELLM_VERSION", "1.108.7")
VENV = BENCH / ".venv-litellm"
INSTALL_TIMEOUT_SECONDS = 900.0
START_TIMEOUT_SECONDS = 90.0
# The proxy refuses to start without a master key; clients send it as a bearer token.
MASTER_KEY = "sk-bench-litellm-master-key-000000"
MODEL = "gpt-4o-mini"


def ensure_installed(log_dir: Path) -> tuple[Path | None, str]:
    """(path of the `litellm` command, note): None and the reason when it cannot be had."""
    exe = VENV / "bin" / "litellm"
    marker = VENV / f".installed-{LITELLM_VERSION}"
    if marker.exists() and exe.exists():
        return exe, f"litellm {LITELLM_VERSION} (cached in {VENV.relative_to(BENCH.parent)})"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "litellm-install.log"
    started = time.monotonic()
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", "--clear", str(VENV)],
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"litellm[proxy]=={LITELLM_VERSION}",
        ],
    ]
    print(f"installing litellm[proxy]=={LITELLM_VERSION} into {VENV} (once) ...", flush=True)
    failed = run_steps(steps, log_path, INSTALL_TIMEOUT_SECONDS)
    if failed is not None:
        return None, f"install {failed}"
    if not exe.exists():
        return None, "install finished but no `litellm` command was installed"
    marker.write_text(f"installed in {time.monotonic() - started:.0f} s\n")
    took = time.monotonic() - started
    return exe, f"litellm {LITELLM_VERSION} (installed in {took:.0f} s)"


def _config(api_base: str, token: str, openai_key: str) -> dict[str, object]:
    return {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_base": api_base,
                    "api_key": openai_key,
                    "extra_headers": {"cf-aig-authorization": f"Bearer {token}"},
                },
            }
        ],
        "general_settings": {"master_key": MASTER_KEY},
        "litellm_settings": {"telemetry": False},
    }


def chat_body(prompt: str, *, stream: bool = False) -> bytes:
    """An OpenAI Chat Completions body for the proxy."""
    body: dict[str, object] = {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
    return msgspec.json.encode(body)


def start_litellm(
    exe: Path, *, api_base: str, token: str, openai_key: str, work_dir: Path, cpus: Cpus
) -> tuple[Server, float]:
    """Start the proxy (one worker) on 127.0.0.1 and poll it until a chat completion answers.

    Returns the server and the seconds from spawn to that first answer.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    # JSON is YAML, so the proxy reads this file as its YAML config.
    config_path = work_dir / "litellm-config.yaml"
    config_path.write_bytes(msgspec.json.encode(_config(api_base, token, openai_key)))
    port = free_port()
    env = process_env(port, bin_dir=exe.parent) | {
        # Offline: use the cost map shipped in the package rather than fetching one.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    cmd = [
        str(exe),
        "--config",
        str(config_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    server = start_server(
        "litellm", cmd, port=port, env=env, log_dir=work_dir, cpus=cpus, cwd=work_dir
    )
    try:
        _, answered = poll_until_answers(
            server,
            path="/v1/chat/completions",
            body=chat_body("warm up"),
            headers={"authorization": f"Bearer {MASTER_KEY}"},
            timeout=START_TIMEOUT_SECONDS,
        )
    except Exception:
        server.stop()
        raise
    return server, answered
