"""7. Streaming: time to the first event, through each target versus direct, sequentially."""

from __future__ import annotations

from bench._loadspec import LoadSpec
from bench._suite import Bench, Target

__all__ = ["streaming"]


def streaming(bench: Bench, targets: list[Target]) -> None:
    print("7. streaming time to first event ...", flush=True)
    streamed = [t for t in targets if t.stream_request is not None]

    def spec(target: Target) -> LoadSpec:
        assert target.stream_request is not None
        return LoadSpec(
            port=target.port,
            request=target.stream_request,
            clients=1,
            requests=bench.sizes.stream_requests,
            warmup=20,
            expect=target.stream_expect,
            keep_samples=True,
            max_seconds=120,
        )

    bench.report.streaming = bench.interleaved(streamed, bench.sizes.stream_rounds, spec)
