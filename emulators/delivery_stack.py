"""`make run`'s result-delivery half: Pub/Sub and Cloud Storage emulators, and the function
that runs what is published to the prompts topic (docs/delivery.md, docs/triggers.md).

By default the direct Pub/Sub trigger, as the Terraform module deploys it: the Pub/Sub
emulator's own push subscriptions POST each message straight to `prompt_push`.

    topic prompts (prompts-push) --push--> functions-framework prompt_push
    after 10 failed deliveries: topic prompts-dead-letter (prompts-dead-letter-push) --> the same
    topic results (subscription results-sub)  <--  both functions  -->  bucket results

With PUBSUB_TRIGGER=eventarc, the Eventarc path instead: the stand-in pulls the subscriptions
(prompts-eventarc, prompts-dead-letter-eventarc) and posts CloudEvents to `prompt_event`. It
pulls rather than letting the emulator push, because the emulator pushes about two messages at a
time and production keeps up to the instance's concurrency in flight (emulators/eventarc_pull.py).
Retry backoff and dead-letter limit are the Terraform module's either way.

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
from emulators.eventarc_pull import EventarcPuller
from emulators.google import (
    INSTALL_HINT,
    PubSubEmulator,
    StorageEmulator,
    emulator_env,
    pubsub_emulator_launcher,
)

__all__ = ["DeliveryStack"]

PROMPTS_TOPIC = "prompts"
DEAD_LETTER_TOPIC = "prompts-dead-letter"
# infra/: Eventarc's retry backoff, and var.dead_letter_max_delivery_attempts.
BACKOFF_SECONDS = (10.0, 600.0)
MAX_DELIVERY_ATTEMPTS = 10
# Above the event function's timeout, as on Eventarc's subscription.
ACK_DEADLINE_SECONDS = 600
RESULTS_TOPIC = "results"
RESULTS_SUBSCRIPTION = "results-sub"
RESULTS_BUCKET = "results"
START_TIMEOUT_SECONDS = 30.0
# PUBSUB_TRIGGER: the entry point each way of delivering Pub/Sub messages runs.
TRIGGERS = {"push": "prompt_push", "eventarc": "prompt_event"}


class DeliveryStack:
    """Starts and stops everything result delivery needs locally."""

    def __init__(self, project: str, root: Path) -> None:
        self.project = project
        self.root = root
        self.logs = Path(tempfile.mkdtemp(prefix="delivery-stack-"))
        self.pubsub: PubSubEmulator | None = None
        self.storage: StorageEmulator | None = None
        self.pullers: list[EventarcPuller] = []
        self.event_function: subprocess.Popen[bytes] | None = None
        self.event_port = int(os.environ.get("EVENT_PORT", "8081"))
        self.trigger = os.environ.get("PUBSUB_TRIGGER", "push")
        if self.trigger not in TRIGGERS:
            raise SystemExit(f"PUBSUB_TRIGGER must be one of {', '.join(TRIGGERS)}")

    def start(self, function_env: dict[str, str]) -> dict[str, str]:
        """Start the emulators and the event function; the settings the HTTP function needs."""
        if pubsub_emulator_launcher() is None:
            print(f"\n  Result delivery is off. {INSTALL_HINT}\n", flush=True)
            return {}
        self.pubsub = PubSubEmulator(self.project, self.logs / "pubsub-emulator.log")
        self.pubsub.start(int(os.environ.get("PUBSUB_EMULATOR_PORT", "8085")))
        self.storage = StorageEmulator(RESULTS_BUCKET, self.logs / "storage-emulator.log")
        self.storage.start(int(os.environ.get("STORAGE_EMULATOR_PORT", "9023")))
        for topic in (PROMPTS_TOPIC, DEAD_LETTER_TOPIC, RESULTS_TOPIC):
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
        self._feed(PROMPTS_TOPIC, dead_letter=(DEAD_LETTER_TOPIC, MAX_DELIVERY_ATTEMPTS))
        self._feed(DEAD_LETTER_TOPIC, dead_letter=None)
        return sinks

    def _feed(self, topic: str, dead_letter: tuple[str, int] | None) -> None:
        """`topic` delivered to the event function through a subscription of its own."""
        assert self.pubsub is not None
        if self.trigger == "push":
            self.pubsub.create_subscription(
                f"{topic}-push",
                topic,
                push_endpoint=f"http://127.0.0.1:{self.event_port}/",
                ack_deadline=ACK_DEADLINE_SECONDS,
                dead_letter=dead_letter,
                backoff_seconds=BACKOFF_SECONDS,
            )
            return
        subscription = self.pubsub.create_subscription(
            f"{topic}-eventarc",
            topic,
            ack_deadline=ACK_DEADLINE_SECONDS,
            dead_letter=dead_letter,
            backoff_seconds=BACKOFF_SECONDS,
        )
        puller = EventarcPuller(
            self.pubsub.host,
            subscription,
            f"http://127.0.0.1:{self.event_port}",
            self.pubsub.topic(topic),
        )
        puller.start()
        self.pullers.append(puller)

    def _start_event_function(self, env: dict[str, str]) -> None:
        bin_dir = Path(sys.executable).parent
        self.event_function = subprocess.Popen(
            [str(bin_dir / "functions-framework"), f"--target={self.entry_point}"],
            cwd=self.root,
            env={**env, "PORT": str(self.event_port)},
        )
        try:
            wait_for_port(self.event_function, self.event_port, timeout=START_TIMEOUT_SECONDS)
        except StartError as exc:
            raise SystemExit(f"{self.entry_point} {exc}; see the lines above") from None

    @property
    def entry_point(self) -> str:
        return TRIGGERS[self.trigger]

    @property
    def parts(self) -> tuple[int, int]:
        """(own processes, parts of the caller's process) this started."""
        if not self.started:
            return 0, 0
        return 3, 1 if self.trigger == "eventarc" else 0

    @property
    def started(self) -> bool:
        """Whether `start` set delivery up (it does not without Google's Pub/Sub emulator)."""
        return self.pubsub is not None and self.storage is not None

    def banner(self) -> str:
        if self.pubsub is None or self.storage is None:
            return ""
        api = f"http://{self.pubsub.host}/v1/projects/{self.project}"
        topics = ", ".join((PROMPTS_TOPIC, DEAD_LETTER_TOPIC, RESULTS_TOPIC))
        suffix = "push" if self.trigger == "push" else "eventarc"
        feeds = " and ".join(f"{topic}-{suffix}" for topic in (PROMPTS_TOPIC, DEAD_LETTER_TOPIC))
        if self.trigger == "push":
            fed = f"fed by the emulator's push subscriptions {feeds}"
        else:
            fed = "fed by the Eventarc stand-in"
        stand_in = f"  Eventarc stand-in    pulls {feeds} (in this process)\n"
        return f"""
  Result delivery (docs/delivery.md)
  {self.entry_point:<20} http://localhost:{self.event_port} (own process),
                       {fed}
  Pub/Sub emulator     {self.pubsub.host}: topics {topics} (own process)
  Storage emulator     {self.storage.url}: bucket {RESULTS_BUCKET} (own process)
{stand_in if self.trigger == "eventarc" else ""}  emulator logs        {self.logs}

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
        for puller in self.pullers:
            puller.stop()
        for part in (self.pubsub, self.storage):
            if part is not None:
                part.stop()
