"""Settled experiments: each ran to decide something, and each still runs on its own.

- `python -m bench.experiments.imports`: where a cold start's CPU goes (`import main` and the
  first request's imports); decided the lazy loading and `gc.freeze()` at the end of `import main`.
- `python -m bench.experiments.delivery_cost`: what a result sink costs per request and once;
  decided that the sinks' clients load on first delivery.

Not part of `make bench`; their figures, and those of experiments since removed, are in
bench/RESULTS.md under "History".
"""
