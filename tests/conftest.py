"""What every kind of test shares: the stand-in fixtures (plugins in tests/support/), a marker per
kind taken from the folder a test lives in, and the end-of-session checks.

Every answer and log line the tests produce is scanned at the end of the session for every
secret value they use; a single hit fails the run. Every line a function process wrote must be
one JSON object.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    # The gateway and Secret Manager emulators, and functions-framework processes (`serve`).
    "tests.support.stand_ins",
    # Result delivery: Google's Pub/Sub emulator and a Cloud Storage emulator.
    "tests.support.google",
]

HERE = Path(__file__).parent
# Folder -> marker (registered in pyproject.toml); a test outside these folders fails collection.
KINDS = ("unit", "process", "emulators", "delivery", "fuzz", "infra", "conformance")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its kind, the first folder under tests/ it lives in."""
    for item in items:
        parts = item.path.relative_to(HERE).parts
        kind = parts[0] if len(parts) > 1 else ""
        if kind not in KINDS:
            raise pytest.UsageError(
                f"{item.nodeid}: a test lives in one of tests/{{{','.join(KINDS)}}}/"
            )
        item.add_marker(getattr(pytest.mark, kind))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any secret value reached a captured log line or an answer, or if any line
    a function process wrote is not one JSON object with `severity` and `message`."""
    from tests.support import servers
    from tests.support.constants import SECRET_VALUES

    hits = servers.scan_for_secrets(SECRET_VALUES)
    if hits:
        print("\nSECRET LEAK: secret values found in:\n  " + "\n  ".join(hits))
        session.exitstatus = 1
    not_json = servers.non_json_lines()
    if not_json:
        print(
            "\nNOT JSON: function log lines that are not JSON objects:\n  " + "\n  ".join(not_json)
        )
        session.exitstatus = 1
