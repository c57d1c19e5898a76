"""Tests of our own emulators: a function-scoped ``gateway`` (a fresh emulator per test, which
overrides the session-scoped one of tests/support/stand_ins.py) and a ``client`` for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from tests.support.emulators import KEY, TOKEN


@pytest.fixture(name="gateway")
def fresh_gateway() -> Iterator[GatewayEmulator]:
    with GatewayEmulator(token=TOKEN, openai_key=KEY) as emulator:
        yield emulator


@pytest.fixture(name="client")
def gateway_client(gateway: GatewayEmulator) -> Iterator[httpx.Client]:
    headers = {"cf-aig-authorization": f"Bearer {TOKEN}", "authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=gateway.base_url(), headers=headers, timeout=5) as http:
        yield http
