"""Where a cold start's CPU goes: `import main` and what the first request imports on top.

    .venv/bin/python -m bench.experiments.imports [--runs 3] [--python bench/.venv-prod/bin/python]

`python -X importtime` per run, grouped by package, medians; then what the first Secret Manager
fetch imports (google.cloud.secretmanager_v1, grpc, google.api_core), anyio's asyncio backend
(Starlette's) and the gateway client's TLS context. It decided what the function loads lazily
(the event path, bulk, delivery) and that `gc.freeze()` ends `import main`; the figures are in
bench/RESULTS.md. Run it from bench/.venv-prod (`make bench` builds it) for production's imports.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import msgspec

from bench._procs import ROOT
from bench._stats import median
from bench._suite import CREDENTIALS
from emulators.stack import free_port, function_env, process_env

__all__ = ["FIRST_REQUEST_IMPORTS", "LAZY_IMPORTS", "ImportProfile", "main", "profile_imports"]

# What relay/secretmanager.py imports on the first Secret Manager fetch (so: in the first request).
LAZY_IMPORTS = (
    "google.api_core.exceptions",
    "google.api_core.retry_async",
    "google.cloud.secretmanager_v1",
    "google.cloud.secretmanager_v1.services.secret_manager_service.transports.grpc_asyncio",
    "grpc",
    "google_crc32c",
)


# What the first request imports whatever the secrets: anyio's asyncio backend (Starlette's: the
# hello world pays it too). Not httpcore: the gateway transport is relay/transport.
FIRST_REQUEST_IMPORTS = ("anyio._backends._asyncio",)
# The TLS context of the gateway client (the CA bundle), timed after `import main`.
_TLS_CODE = (
    "import time, main, httpx\n"
    "started = time.perf_counter()\n"
    "httpx.create_ssl_context()\n"
    "print((time.perf_counter() - started) * 1000)\n"
)


class ImportProfile(msgspec.Struct, frozen=True, kw_only=True):
    """Milliseconds, medians over `runs` runs."""

    runs: int
    main_ms: float  # `import main` (what the server does before it listens)
    lazy_ms: float  # what the first Secret Manager fetch imports on top of that
    by_package: list[tuple[str, float]]  # self time summed per top-level package, largest first
    main_children: list[tuple[str, float]]  # main.py's own imports, cumulative
    first_request_ms: float | None = None  # FIRST_REQUEST_IMPORTS, on top of `import main`
    tls_context_ms: float | None = None  # building the gateway client's TLS context


def _parse(stderr: str) -> list[tuple[int, float, float, str]]:
    """(depth, self ms, cumulative ms, module) per importtime line, in output order."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        self_us, cumulative_us, name = parts[0].strip(), parts[1].strip(), parts[2]
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((depth, int(self_us) / 1000, int(cumulative_us) / 1000, name.strip()))
    return rows


def _run(code: str, env: Mapping[str, str], python: Path) -> list[tuple[int, float, float, str]]:
    return _parse(_python(["-X", "importtime", "-c", code], env, python).stderr)


def profile_imports(
    env: Mapping[str, str], *, python: Path | None = None, runs: int = 3
) -> ImportProfile:
    """Profile `import main`, and what the first request adds: the Secret Manager imports,
    anyio's backend, and the TLS context."""
    main_totals: list[float] = []
    lazy_totals: list[float] = []
    packages: dict[str, list[float]] = collections.defaultdict(list)
    children: dict[str, list[float]] = collections.defaultdict(list)
    python = python or Path(sys.executable)
    lazy_code = "import main\n" + "\n".join(f"import {name}" for name in LAZY_IMPORTS)
    first_code = "import main\n" + "\n".join(f"import {name}" for name in FIRST_REQUEST_IMPORTS)
    first_totals: list[float] = []
    tls: list[float] = []
    for _ in range(runs):
        rows = _run("import main", env, python)
        main_totals.append(
            next(cum for depth, _, cum, name in rows if depth == 0 and name == "main")
        )
        # main's subtree: the lines after the previous top-level line, up to main's own line.
        main_index = next(i for i, row in enumerate(rows) if row[0] == 0 and row[3] == "main")
        start = max((i for i, row in enumerate(rows[:main_index]) if row[0] == 0), default=-1)
        sums: dict[str, float] = collections.defaultdict(float)
        for _depth, self_ms, _cum, name in rows[start + 1 : main_index + 1]:
            sums[name.split(".")[0]] += self_ms
        for name, value in sums.items():
            packages[name].append(value)
        for depth, _, cum, name in rows[start + 1 : main_index]:
            if depth == 1:
                children[name].append(cum)
        lazy_totals.append(_after_main(_run(lazy_code, env, python)))
        first_totals.append(_after_main(_run(first_code, env, python)))
        tls.append(float(_plain(_TLS_CODE, env, python).split()[-1]))
    by_package = sorted(
        ((k, round(median(v), 1)) for k, v in packages.items()), key=lambda kv: -kv[1]
    )
    main_children = sorted(
        ((k, round(median(v), 1)) for k, v in children.items()), key=lambda kv: -kv[1]
    )
    return ImportProfile(
        runs=runs,
        main_ms=round(median(main_totals), 1),
        lazy_ms=round(median(lazy_totals), 1),
        by_package=by_package[:12],
        main_children=main_children[:8],
        first_request_ms=round(median(first_totals), 1),
        tls_context_ms=round(median(tls), 1),
    )


def _after_main(rows: list[tuple[int, float, float, str]]) -> float:
    """Cumulative ms of the top-level imports after `main`'s."""
    main = next(i for i, row in enumerate(rows) if row[0] == 0 and row[3] == "main")
    return sum(cum for depth, _, cum, _ in rows[main + 1 :] if depth == 0)


def _plain(code: str, env: Mapping[str, str], python: Path) -> str:
    return _python(["-c", code], env, python).stdout


def _python(
    args: list[str], env: Mapping[str, str], python: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.experiments.imports")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    args = parser.parse_args(argv)
    gateway, manager = CREDENTIALS.gateway(), CREDENTIALS.secret_manager()
    gateway.start()  # for their addresses in the settings: nothing is fetched
    manager.start()
    try:
        env = process_env(free_port(), bin_dir=args.python.parent) | function_env(
            CREDENTIALS, gateway=gateway, secret_manager=manager
        )
        found = profile_imports(env, python=args.python, runs=args.runs)
    finally:
        manager.stop()
        gateway.stop()
    print(f"import main: {found.main_ms:.0f} ms (median of {found.runs})")
    print("main.py's imports (cumulative ms): " + _pairs(found.main_children))
    print("self time by package (ms): " + _pairs(found.by_package))
    print(f"first Secret Manager fetch imports: {found.lazy_ms:.0f} ms")
    print(f"first request, anyio's asyncio backend: {found.first_request_ms:.0f} ms")
    print(f"gateway client's TLS context: {found.tls_context_ms:.0f} ms (wall)")
    return 0


def _pairs(pairs: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {ms:.0f}" for name, ms in pairs)


if __name__ == "__main__":
    sys.exit(main())
