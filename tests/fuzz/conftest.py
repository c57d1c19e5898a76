"""Module-scoped fuzz fixtures: the function processes the fuzz tests send to, and the payload
total each fuzz module prints when it is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.fuzz_harness import COUNTS, SMALL_LIMIT, Fuzz
from tests.support.servers import ServerFactory


@pytest.fixture(scope="module", name="fuzz")
def default_fuzz_client(serve: ServerFactory, gateway: GatewayEmulator) -> Iterator[Fuzz]:
    """The default function process (MAX_BODY_BYTES 8 MiB, secrets from Secret Manager)."""
    client = Fuzz(serve(), gateway)
    yield client
    client.close()


@pytest.fixture(scope="module", name="fuzz_small")
def small_fuzz_client(serve: ServerFactory, gateway: GatewayEmulator) -> Iterator[Fuzz]:
    """A function process with MAX_BODY_BYTES=65536."""
    client = Fuzz(serve(MAX_BODY_BYTES=str(SMALL_LIMIT)), gateway)
    yield client
    client.close()


@pytest.fixture(scope="module", autouse=True)
def _report_total(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many payloads the module sent, test by test, once it is done."""
    yield
    lines = [f"{name}: {count}" for name, count in COUNTS.items()]
    summary = f"fuzz: {sum(COUNTS.values())} payloads sent ({', '.join(lines)})"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            reporter.write_line("")
            reporter.write_line(summary)
