"""5. Secret fetches: 200 simultaneous first requests to a fresh function, fetches per secret."""

from __future__ import annotations

from bench._loadspec import LoadSpec
from bench._procs import poll_until_answers, run_load
from bench._results import Burst
from bench._suite import CREDENTIALS, PROMPT_BODY, Bench, raw_request

__all__ = ["burst"]


def burst(bench: Bench) -> None:
    print("5. secret fetches under a burst of first requests ...", flush=True)
    server = bench.start_function("function-burst", secrets="manager")
    try:
        # A GET is answered 405 without reading any secret: the worker is up, nothing fetched.
        poll_until_answers(server, method="GET", want_status=None)
        bench.secret_manager.reset_counts()
        spec = LoadSpec(
            port=server.port,
            request=raw_request("/", PROMPT_BODY),
            clients=200,
            requests=200,
            simultaneous=True,
            timeout=30,
            max_seconds=30,
            expect=b'"ok":true',
        )
        result = run_load(spec, bench.cpus)
        fetches = {
            name: bench.secret_manager.access_count(name)
            for name in (CREDENTIALS.token_secret, CREDENTIALS.key_secret)
        }
        bench.report.burst = Burst(clients=200, result=result, fetches=fetches)
    finally:
        server.stop()
