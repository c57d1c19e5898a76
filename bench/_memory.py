"""Memory of a server's process tree: one sample, or the peak while a load runs."""

from __future__ import annotations

import threading

from bench._procs import Server, tree_memory_kib
from bench._results import MemorySample

__all__ = ["MemoryPeak", "mib", "sample"]


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def sample(target: str, stage: str, server: Server) -> MemorySample:
    """RSS and PSS of `server`'s process tree right now."""
    rss, pss = tree_memory_kib(server.pid)
    return MemorySample(target=target, stage=stage, rss_mib=mib(rss), pss_mib=mib(pss))


class MemoryPeak(threading.Thread):
    """Samples a process tree's RSS/PSS while a load runs; keeps the peak."""

    INTERVAL_SECONDS = 0.25

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._halt = threading.Event()
        self.rss_kib = 0
        self.pss_kib = 0

    def run(self) -> None:
        while not self._halt.is_set():
            rss, pss = tree_memory_kib(self._pid)
            self.rss_kib = max(self.rss_kib, rss)
            self.pss_kib = max(self.pss_kib, pss)
            self._halt.wait(self.INTERVAL_SECONDS)

    def finish(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def as_sample(self, target: str, stage: str) -> MemorySample:
        return MemorySample(
            target=target, stage=stage, rss_mib=mib(self.rss_kib), pss_mib=mib(self.pss_kib)
        )
