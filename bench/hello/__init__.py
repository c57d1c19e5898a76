"""Hello-world functions-framework functions: the baseline for cold start and per-request cost."""
