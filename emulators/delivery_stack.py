"""`make run`'s result-delivery half: Pub/Sub and Cloud Storage emulators, the Eventarc
stand-in, and a `prompt_event` function fed by a push subscription (docs/delivery.md).

    topic prompts --push--> Eventarc stand-in --CloudEvent--> functions-framework prompt_event
    topic results (subscription results-sub)  <--  both functions  -->  bucket results

Without Google's Pub/Sub emulator it prints how to install it and sets nothing up, so the HTTP
path still runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from emulators._ports import StartError, stop_process, wait_for_port
from emulators.eventarc import EventarcBridge
from emulators.google import (
    INSTALL_HINT,
    PubSubEmulator,
    StorageEmulator,
    emulator_env,
    pubsub_emulator_launcher,
)

__all__ = ["DeliveryStack"]

PROMPTS_TOPIC = "prompts"
RESULTS_TOPIC = "results"
RESULTS_SUBSCRIPTION = "results-sub"
RESULTS_BUCKET = "results"
START_TIMEOUT_SECONDS = 30.0


class DeliveryStack:
    """Starts and stops everything result delivery needs locally."""

    def __init__(self, project: str, root: Path) -> None:
        self.project = project
        self.root = root
        self.logs = Path(tempfile.mkdtemp(prefix="delivery-stack-"))
        self.pubsub: PubSubEmulator | None = None
        self.storage: StorageEmulator | None = None
        self.bridge: EventarcBridge | None = None
        self.event_function: subprocess.Popen[bytes] | None = None
        self.event_port = int(os.environ.get("EVENT_PORT", "8081"))

    def start(self, function_env: dict[str, str]) -> dict[str, str]:
        """Start the emulators and the event function; the settings the HTTP function needs."""
        if pubsub_emulator_launcher() is None:
            print(f"\n  Result delivery is off. {INSTALL_HINT}\n", flush=True)
            return {}
        self.pubsub = PubSubEmulator(self.project, self.logs / "pubsub-emulator.log")
        self.pubsub.start(int(os.environ.get("PUBSUB_EMULATOR_PORT", "8085")))
        self.storage = StorageEmulator(RESULTS_BUCKET, self.logs / "storage-emulator.log")
        self.storage.start(int(os.environ.get("STORAGE_EMULATOR_PORT", "9023")))
        for topic in (PROMPTS_TOPIC, RESULTS_TOPIC):
            self.pubsub.create_topic(topic)
        self.pubsub.create_subscription(RESULTS_SUBSCRIPTION, RESULTS_TOPIC)
        sinks = {
            "RESULTS_TOPIC": RESULTS_TOPIC,
            "RESULTS_BUCKET": RESULTS_BUCKET,
            # Bulk runs (docs/bulk.md) fan out on the same topic prompt_event is pushed from.
            "BULK_TOPIC": PROMPTS_TOPIC,
            **emulator_env(self.pubsub, self.storage),
        }
        self._start_event_function({**function_env, **sinks})
        self.bridge = EventarcBridge(
            f"http://127.0.0.1:{self.event_port}", self.pubsub.topic(PROMPTS_TOPIC)
        )
        self.bridge.start()
        self.pubsub.create_subscription(
            f"{PROMPTS_TOPIC}-push", PROMPTS_TOPIC, push_endpoint=self.bridge.url
        )
        return sinks

    def _start_event_function(self, env: dict[str, str]) -> None:
        bin_dir = Path(sys.executable).parent
        self.event_function = subprocess.Popen(
            [str(bin_dir / "functions-framework"), "--target=prompt_event"],
            cwd=self.root,
            env={**env, "PORT": str(self.event_port)},
        )
        try:
            wait_for_port(self.event_function, self.event_port, timeout=START_TIMEOUT_SECONDS)
        except StartError as exc:
            raise SystemExit(f"prompt_event {exc}; see the lines above") from None

    def banner(self) -> str:
        if self.pubsub is None or self.storage is None:
            return ""
        api = f"http://{self.pubsub.host}/v1/projects/{self.project}"
        return f"""
  Result delivery (docs/delivery.md)
  prompt_event         http://localhost:{self.event_port} (push from topic {PROMPTS_TOPIC})
  Pub/Sub emulator     {self.pubsub.host}: topics {PROMPTS_TOPIC}, {RESULTS_TOPIC}
  Storage emulator     {self.storage.url}: bucket {RESULTS_BUCKET}
  emulator logs        {self.logs}

  Publish a prompt, then read its result:
    curl -s -X POST {api}/topics/{PROMPTS_TOPIC}:publish -H 'content-type: application/json' \\
      -d '{{"messages": [{{"data": "'$(printf '{{"prompt": "Say hello"}}' | base64 -w0)'",
            "attributes": {{"request_id": "hello-1"}}}}]}}'
    curl -s -X POST {api}/subscriptions/{RESULTS_SUBSCRIPTION}:pull \\
      -H 'content-type: application/json' -d '{{"maxMessages": 10}}'
    curl -s '{self.storage.url}/storage/v1/b/{RESULTS_BUCKET}/o/results%2Fhello-1.json?alt=media'

  A bulk run (the walk-through in docs/bulk.md): upload a JSONL file, submit it, poll it
    curl -s -X POST --data-binary @lines.jsonl \\
      '{self.storage.url}/upload/storage/v1/b/{RESULTS_BUCKET}/o?uploadType=media&name=in/demo.jsonl'
    curl -s localhost:8080 -H 'content-type: application/json' -d '{{"bulk": {{
      "input": "gs://{RESULTS_BUCKET}/in/demo.jsonl", "output": "gs://{RESULTS_BUCKET}/out/demo/"}}}}'
    curl -s localhost:8080 -H 'content-type: application/json' \\
      -d '{{"bulk_status": {{"output": "gs://{RESULTS_BUCKET}/out/demo/"}}}}'
"""

    def stop(self) -> None:
        if self.event_function is not None:
            stop_process(self.event_function)
        for part in (self.bridge, self.pubsub, self.storage):
            if part is not None:
                part.stop()
