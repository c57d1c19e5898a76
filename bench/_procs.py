"""Processes under test: start them on 127.0.0.1, poll them until they answer, read /proc.

With at least two cores the servers under test (the function, the hello-world functions, LiteLLM)
are pinned to the last core and everything else (this process, the emulators it hosts, the load
generator) to the others, so a server has a core of its own, as a 1-vCPU Cloud Run instance has,
and the load generator's work does not land on the core being measured.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from bench._loadspec import LoadResult, LoadSpec, decode
from emulators.stack import stop_process

__all__ = [
    "BENCH",
    "ROOT",
    "Cpus",
    "OthersWatch",
    "Server",
    "http_call",
    "poll_until_answers",
    "run_load",
    "start_server",
    "tree_cpu_seconds",
    "tree_cpu_times",
    "tree_memory_kib",
    "wait_idle",
]

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Polling interval while waiting for a server to answer (it is polled, never slept on).
POLL_INTERVAL_SECONDS = 0.002
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Cpus:
    """Which cores the servers under test and everything else run on (None: not pinned)."""

    server: str | None
    client: str | None

    @classmethod
    def plan(cls) -> Cpus:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2 or shutil.which("taskset") is None:
            return cls(None, None)
        return cls(str(cores[-1]), ",".join(str(c) for c in cores[:-1]))

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (fewer than 2 cores, or no taskset)"
        return (
            f"servers under test on core {self.server}; "
            f"load generator and emulators on core {self.client}"
        )

    def pin_self(self) -> None:
        if self.client is not None:
            os.sched_setaffinity(0, {int(c) for c in self.client.split(",")})

    def server_cmd(self, cmd: Sequence[str]) -> list[str]:
        return ["taskset", "-c", self.server, *cmd] if self.server else list(cmd)

    def client_cmd(self, cmd: Sequence[str]) -> list[str]:
        return ["taskset", "-c", self.client, *cmd] if self.client else list(cmd)


def http_call(
    port: int,
    method: str,
    path: str = "/",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body). Raises OSError when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        all_headers = {"content-type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    except http.client.HTTPException as exc:
        raise ConnectionError(f"bad HTTP answer: {exc!r}") from None
    finally:
        conn.close()


@dataclass(slots=True)
class Server:
    """A started server process (the root of a process tree)."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started_at: float  # time.perf_counter() just before the process was spawned
    _log: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.popen, timeout=15)
        log = self._log
        if log is not None and hasattr(log, "close"):
            log.close()


def start_server(
    name: str,
    cmd: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str],
    log_dir: Path,
    cpus: Cpus,
    cwd: Path = ROOT,
) -> Server:
    """Spawn `cmd` (pinned to the server core) with stdout and stderr to a log file."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    started = time.perf_counter()
    popen = subprocess.Popen(
        cpus.server_cmd(cmd),
        cwd=cwd,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    return Server(name, popen, port, log_path, started, log)


def poll_until_answers(
    server: Server,
    *,
    method: str = "POST",
    path: str = "/",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    want_status: int | None = 200,
    timeout: float = 60.0,
) -> tuple[float, float]:
    """Poll until the server answers `want_status` (None: any HTTP answer).

    Returns (seconds from spawn to the port accepting, seconds from spawn to the answer).
    """
    deadline = time.perf_counter() + timeout
    port_open: float | None = None
    last = "no answer"
    while time.perf_counter() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited early:\n{server.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1.0):
                pass
        except OSError:
            time.sleep(POLL_INTERVAL_SECONDS)
            continue
        if port_open is None:
            port_open = time.perf_counter() - server.started_at
        try:
            status, answer = http_call(
                server.port,
                method,
                path,
                body,
                headers,
                timeout=max(deadline - time.perf_counter(), 0.1),
            )
        except OSError as exc:
            last = repr(exc)
            time.sleep(POLL_INTERVAL_SECONDS)
            continue
        if want_status is None or status == want_status:
            return port_open, time.perf_counter() - server.started_at
        last = f"{status} {answer[:300]!r}"
        time.sleep(POLL_INTERVAL_SECONDS)
    raise RuntimeError(
        f"{server.name} did not answer in {timeout} s ({last}):\n{server.log_tail()}"
    )


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree_pids(root: int) -> list[int]:
    """`root` and every descendant process."""
    children = _children_map()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def _status_kib(pid: int, key: str, path: str = "status") -> int:
    try:
        with open(f"/proc/{pid}/{path}", encoding="ascii", errors="replace") as file:
            for line in file:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory_kib(root: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in KiB over the process tree under `root`.

    RSS counts pages shared between the gunicorn arbiter and its forked worker twice; PSS splits
    them, so it is the better estimate of what the instance's memory limit sees.
    """
    rss = pss = 0
    for pid in tree_pids(root):
        rss += _status_kib(pid, "VmRSS:")
        pss += _status_kib(pid, "Pss:", "smaps_rollup")
    return rss, pss


def tree_peak_kib(root: int) -> int:
    """The sum of each process's peak RSS (VmHWM) in KiB over the process tree under `root`."""
    return sum(_status_kib(pid, "VmHWM:") for pid in tree_pids(root))


def tree_cpu_seconds(root: int, *, reaped: bool = False) -> float:
    """User plus system CPU time used so far by the process tree under `root`; with `reaped`,
    also what its waited-for children used (cutime, cstime)."""
    return sum(tree_cpu_times(root, reaped=reaped))


def tree_cpu_times(root: int, *, reaped: bool = False) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by the process tree under `root` (see
    `tree_cpu_seconds`)."""
    columns = ((11, 13), (12, 14)) if reaped else ((11,), (12,))
    user = system = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += sum(int(fields[column]) for column in columns[0])
        system += sum(int(fields[column]) for column in columns[1])
    return user / _CLOCK_TICKS, system / _CLOCK_TICKS


def wait_idle(root: int, *, busy_below: float = 0.05, timeout: float = 20.0) -> bool:
    """Poll the process tree's CPU use until it drops below `busy_below` cores (or time is up)."""
    deadline = time.perf_counter() + timeout
    interval = 0.25
    while time.perf_counter() < deadline:
        before = tree_cpu_seconds(root)
        time.sleep(interval)  # the sampling interval of the CPU-use poll
        if (tree_cpu_seconds(root) - before) / interval < busy_below:
            return True
    return False


def _system_busy_seconds() -> float:
    with open("/proc/stat", encoding="ascii") as file:
        fields = file.readline().split()
    user, nice, system = int(fields[1]), int(fields[2]), int(fields[3])
    return (user + nice + system) / _CLOCK_TICKS


class OthersWatch:
    """CPU used by processes outside this benchmark's process tree while a measurement runs.

    The machine may be shared (another engineer's tests, say); this says how much, in cores, so
    a noisy number can be recognised. Approximate: interrupt time is left out on both sides.
    """

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._busy = _system_busy_seconds()
        self._own = tree_cpu_seconds(os.getpid(), reaped=True)

    def cores(self) -> float:
        wall = max(time.perf_counter() - self._wall, 1e-9)
        busy = _system_busy_seconds() - self._busy
        own = tree_cpu_seconds(os.getpid(), reaped=True) - self._own
        return round(max(busy - own, 0.0) / wall, 2)


def run_load(spec: LoadSpec, cpus: Cpus) -> LoadResult:
    """Run the load generator in its own process (pinned off the server core)."""
    budget = spec.max_seconds * 2 + spec.timeout + 60
    done = subprocess.run(
        cpus.client_cmd([sys.executable, "-m", "bench._load"]),
        input=msgspec.json.encode(spec),
        capture_output=True,
        cwd=ROOT,
        timeout=budget,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"load generator failed:\n{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return decode(done.stdout)
