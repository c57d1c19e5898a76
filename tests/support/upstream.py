"""What reached the gateway emulator for one call: requests are tagged with a nonce in their
metadata, and found again by it."""

from __future__ import annotations

import uuid
from typing import Any

from emulators.gateway import GatewayEmulator, RecordedRequest


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def upstream(gateway: GatewayEmulator, tag: str) -> list[RecordedRequest]:
    """Every request the gateway saw for the call tagged `tag` (in its metadata), in order."""
    found = [r for r in gateway.requests if tag in r.headers.get("cf-aig-metadata", "")]
    assert found, f"no upstream request tagged {tag}"
    return found


def tagged(body: dict[str, Any], tag: str, fault: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"nonce": tag}
    if fault is not None:
        metadata["emulator_fault"] = fault
    return {**body, "metadata": metadata}
