"""Helpers shared by the test kinds: servers, stand-in fixtures (as plugins), contract oracles,
fuzz strategies and the shared constants (constants.py)."""
