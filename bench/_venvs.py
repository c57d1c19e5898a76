"""Virtualenvs the benchmark runs servers from; all git-ignored (`.venv-*/`), built once, reused.

- `bench/.venv-prod`: exactly `requirements.txt`, what Cloud Functions installs. The function and
  the hello-world baselines run from it, so imports, cold starts and memory are not inflated by
  development tools (in `.venv`, httpx finds `rich` and `pygments` and imports its CLI: ~30 ms).
- `bench/.venv-speedups/site`: uvloop and httptools only, put on PYTHONPATH for experimental
  variants of the function (uvicorn picks both up by itself when they are importable).
- `bench/.venv-httpx2/site`: pydantic's httpx2 fork (whose connection pool is linear, not
  quadratic, in the number of connections) plus a one-line `httpx` package that makes
  `import httpx` return httpx2, so the function's unchanged code runs on it as an experiment.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from bench._procs import BENCH, ROOT

__all__ = ["HTTPX2", "SPEEDUPS", "ensure_httpx2", "ensure_prod_venv", "ensure_speedups"]

INSTALL_TIMEOUT_SECONDS = 600.0
PROD_VENV = BENCH / ".venv-prod"
SPEEDUPS_DIR = BENCH / ".venv-speedups"
# Pinned so that the experiment is the same from run to run.
SPEEDUPS = ("uvloop==0.23.0", "httptools==0.9.0")
HTTPX2_DIR = BENCH / ".venv-httpx2"
HTTPX2 = ("httpx2==2.16.2", "httpcore2==2.16.2", "truststore==0.10.5")
_HTTPX_SHIM = """# Benchmark experiment only: `import httpx` gives httpx2 (see bench/_venvs.py).

import sys

import httpx2

sys.modules[__name__] = httpx2
"""


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


def _overlay(
    directory: Path, packages: tuple[str, ...], log_dir: Path, *, no_deps: bool = False
) -> tuple[Path | None, str]:
    """Packages installed with `pip --target` into `directory`/site, for PYTHONPATH."""
    site = directory / "site"
    marker = directory / (".installed-" + "-".join(packages).replace("==", "_"))
    if marker.exists():
        return site, " + ".join(packages)
    log_dir.mkdir(parents=True, exist_ok=True)
    options = ["--no-deps"] if no_deps else []
    failed = run_steps(
        [
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--upgrade",
                *options,
                "--target",
                str(site),
                *packages,
            ]
        ],
        log_dir / f"{directory.name}-install.log",
    )
    if failed is not None:
        return None, f"{' + '.join(packages)} could not be installed: {failed}"
    marker.write_text("ok\n")
    return site, " + ".join(packages)


def ensure_speedups(log_dir: Path) -> tuple[Path | None, str]:
    """(directory to put on PYTHONPATH, note); None when uvloop/httptools cannot be installed."""
    return _overlay(SPEEDUPS_DIR, SPEEDUPS, log_dir)


def ensure_httpx2(log_dir: Path) -> tuple[Path | None, str]:
    """(directory to put on PYTHONPATH, note) for the httpx2 experiment; None if unavailable."""
    site, note = _overlay(HTTPX2_DIR, HTTPX2, log_dir, no_deps=True)
    if site is not None:
        shim = site / "httpx" / "__init__.py"
        shim.parent.mkdir(parents=True, exist_ok=True)
        shim.write_text(_HTTPX_SHIM)
    return site, note
