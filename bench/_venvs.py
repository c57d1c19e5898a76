"""`bench/.venv-prod`, the virtualenv the servers under test run from (git-ignored by `.venv-*/`).

It holds exactly `requirements.txt`, what Cloud Functions installs, so imports, cold starts and
memory are not inflated by development tools (in `.venv`, httpx finds `rich` and `pygments` and
imports its CLI: ~30 ms). Built on the first run (and when requirements.txt changes), then reused.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from bench._procs import BENCH, ROOT

__all__ = ["ensure_prod_venv", "run_steps"]

INSTALL_TIMEOUT_SECONDS = 600.0
PROD_VENV = BENCH / ".venv-prod"


def run_steps(
    steps: list[list[str]], log_path: Path, timeout: float = INSTALL_TIMEOUT_SECONDS
) -> str | None:
    """Run install steps in order; the reason on the first failure, else None."""
    started = time.monotonic()
    with log_path.open("wb") as log:
        for step in steps:
            left = timeout - (time.monotonic() - started)
            try:
                done = subprocess.run(
                    step, stdout=log, stderr=subprocess.STDOUT, timeout=max(left, 1), check=False
                )
            except subprocess.TimeoutExpired:
                return f"timed out after {timeout:.0f} s"
            if done.returncode != 0:
                return f"`{' '.join(step[-3:])}` failed; log: {log_path}"
    return None


def ensure_prod_venv(log_dir: Path) -> tuple[Path, str]:
    """(bin directory to run servers from, note). Falls back to this interpreter's venv."""
    requirements = (ROOT / "requirements.txt").read_bytes()
    digest = hashlib.sha256(requirements).hexdigest()[:16]
    marker = PROD_VENV / f".installed-{digest}"
    bin_dir = PROD_VENV / "bin"
    if marker.exists() and (bin_dir / "functions-framework").exists():
        return bin_dir, "bench/.venv-prod (requirements.txt only)"
    log_dir.mkdir(parents=True, exist_ok=True)
    print("building bench/.venv-prod from requirements.txt (once) ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    python = str(bin_dir / "python")
    failed = run_steps(
        [
            [base, "-m", "venv", "--clear", str(PROD_VENV)],
            [python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
            [python, "-m", "pip", "install", "--quiet", "-r", str(ROOT / "requirements.txt")],
        ],
        log_dir / "prod-venv-install.log",
    )
    if failed is not None:
        here = Path(sys.executable).parent
        return here, f"{here} (bench/.venv-prod could not be built: {failed})"
    marker.write_text(digest + "\n")
    return bin_dir, "bench/.venv-prod (requirements.txt only)"
