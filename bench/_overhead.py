"""1. Overhead: the same request direct and through each target, sequentially and at 32
clients (6. the upstream connections the 32 clients cost).
"""

from __future__ import annotations

from bench._loadspec import LoadSpec
from bench._results import Connections
from bench._suite import Bench, Target

__all__ = ["overhead"]


def overhead(bench: Bench, targets: list[Target]) -> None:
    """Sequential runs interleaved round by round, then each target at 32 clients."""
    sizes = bench.sizes
    print("1. overhead, sequential ...", flush=True)

    def sequential(target: Target) -> LoadSpec:
        count = sizes.seq_requests
        return LoadSpec(
            port=target.port,
            request=target.request,
            clients=1,
            requests=count,
            warmup=max(count // 10, 20),
            expect=target.expect,
            keep_samples=True,
            max_seconds=120,
        )

    bench.report.sequential = bench.interleaved(targets, sizes.seq_rounds, sequential)
    print("1. overhead, 32 clients (6. connections) ...", flush=True)
    for target in targets:
        spec = LoadSpec(
            port=target.port,
            request=target.request,
            clients=32,
            requests=sizes.c32_requests,
            expect=target.expect,
            max_seconds=150,
        )
        opened_before = bench.gateway.stats()["connections_opened"]
        measured = bench.measure(target, spec)
        opened = bench.gateway.stats()["connections_opened"] - opened_before
        bench.report.concurrent.append(measured)
        if target.key == "function":
            bench.report.connections.append(
                Connections(
                    target=target.key,
                    label=target.label,
                    requests=measured.result.ok + measured.result.errors,
                    clients=32,
                    opened=opened,
                )
            )
