"""A bulk run as the bulk tests drive it: input upload, submit, status polls and output reads."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.google import RESULTS_BUCKET
from tests.support.openapi import validate_schema as validate
from tests.support.servers import FunctionServer

BUCKET = RESULTS_BUCKET
# Time for a whole small run: 429s wait for Pub/Sub's redelivery.
RUN_SECONDS = 90.0
# prompt_event runs bulk items only with bulk runs on (any topic name says so).
BULK_ON = {"BULK_TOPIC": "prompts"}


def nonce() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Bulk:
    http: FunctionServer
    event: FunctionServer
    topic: str
    pubsub: PubSubEmulator
    storage: StorageEmulator

    def upload(self, lines: list[Any]) -> str:
        name = f"in/{nonce()}.jsonl"
        text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
        self.storage.write(name, text.encode() + b"\n")
        return f"gs://{BUCKET}/{name}"

    def submit(self, source: str, output: str, **extra: Any) -> tuple[int, dict[str, Any]]:
        response = self.http.post({"bulk": {"input": source, "output": output, **extra}})
        return response.status_code, response.json()

    def status(self, output: str) -> dict[str, Any]:
        response = self.http.post({"bulk_status": {"output": output}})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        validate(answer, "BulkStatus")
        # The counts add up at every poll.
        finished = answer["succeeded"] + answer["failed"] + answer["dead_lettered"]
        assert finished + answer["pending"] == answer["total"]
        return answer

    def wait_done(self, output: str) -> list[dict[str, Any]]:
        """Every status answer until the run is done (the last one done)."""
        seen = []
        deadline = time.monotonic() + RUN_SECONDS
        while True:
            answer = self.status(output)
            seen.append(answer)
            if answer["state"] == "done":
                return seen
            assert time.monotonic() < deadline, answer
            time.sleep(0.2)  # polling interval for the status call

    def read_lines(self, uri: str) -> list[dict[str, Any]]:
        name = uri.removeprefix(f"gs://{BUCKET}/")
        found = self.storage.read(name)
        assert found is not None, uri
        return [json.loads(line) for line in found[0].decode().splitlines()]


def listed(storage: StorageEmulator, folder: str, bulk_id: str, *custom_ids: str) -> None:
    """A run's manifest at `folder` listing `custom_ids`: an item sent by hand may then run."""
    manifest = {
        "id": bulk_id,
        "input": f"gs://{BUCKET}/in/by-hand.jsonl",
        "generation": 1,
        "output": f"gs://{BUCKET}/{folder}",
        "total": len(custom_ids),
        "created": time.time(),
        "custom_ids": list(custom_ids),
    }
    storage.write(f"{folder}_bulk.json", json.dumps(manifest).encode())


def gateway_calls(gateway: GatewayEmulator, marker: str) -> int:
    return sum(1 for r in gateway.requests if marker in r.headers.get("cf-aig-metadata", ""))


def line(custom_id: str, prompt: str, marker: str, fault: str | None = None) -> dict[str, Any]:
    metadata = {"nonce": marker, **({"emulator_fault": fault} if fault else {})}
    return {"custom_id": custom_id, "prompt": prompt, "metadata": metadata}
