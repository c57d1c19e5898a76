"""Benchmarks: `make bench` (python -m bench). Not part of `make test`.

Public here: the process-tree readers the tests use too (peak memory of a function process).
"""

from bench._procs import tree_cpu_seconds, tree_peak_kib

__all__ = ["tree_cpu_seconds", "tree_peak_kib"]
