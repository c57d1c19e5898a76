"""Google's own Pub/Sub emulator and a Cloud Storage emulator, as local processes on 127.0.0.1.

`PubSubEmulator` runs the Pub/Sub emulator that ships with the Google Cloud CLI (Debian package
`google-cloud-cli-pubsub-emulator`, Java 17) and drives it over its REST surface; the function
reaches it through `PUBSUB_EMULATOR_HOST`. `StorageEmulator` runs `gcp-storage-emulator` (PyPI)
in memory; the function reaches it through `STORAGE_EMULATOR_HOST`. Both are polled until they
answer, never slept on.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from emulators._ports import free_port, stop_process

__all__ = [
    "INSTALL_HINT",
    "PubSubEmulator",
    "StorageEmulator",
    "emulator_env",
    "free_port",
    "pubsub_emulator_launcher",
]

INSTALL_HINT = (
    "Google's Pub/Sub emulator is not installed. Install it with "
    "`sudo apt-get install google-cloud-cli-pubsub-emulator openjdk-17-jre-headless` "
    "(Google Cloud CLI apt source) or `gcloud components install pubsub-emulator`."
)
START_TIMEOUT_SECONDS = 60.0  # a cold JVM on a busy 2-core machine
_SDK_ROOTS = ("/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk", "/google-cloud-sdk")
_LAUNCHER = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
_ROOT = Path(__file__).resolve().parent.parent


def pubsub_emulator_launcher() -> Path | None:
    """The emulator's launcher script, from PATH or a Google Cloud SDK install; None if absent."""
    found = shutil.which("cloud-pubsub-emulator")
    if found:
        return Path(found)
    roots = [Path(root) for root in _SDK_ROOTS]
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.insert(0, Path(gcloud).resolve().parent.parent)
    roots.append(Path.home() / "google-cloud-sdk")
    for root in roots:
        if (root / _LAUNCHER).is_file():
            return root / _LAUNCHER
    return None


def _wait_until(ready: Any, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited during start-up:\n{log.read_text()[-2000:]}")
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling interval while the process starts
    raise RuntimeError(f"{what} did not answer within {START_TIMEOUT_SECONDS:g} s")


class _Process:
    """An emulator as a child process on 127.0.0.1, its output in a log file, polled until it
    answers over HTTP, stopped by its own pid."""

    what = "emulator"  # for messages

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _launch(self, command: list[str], base_url: str, ready_path: str) -> None:
        """Start `command`; return once GET `ready_path` answers 200."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=_ROOT,  # where `python -m emulators...` finds this package
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._http = httpx.Client(base_url=base_url, timeout=10)
        _wait_until(
            lambda: self._http.get(ready_path).status_code == 200,
            self.process,
            self.what,
            self.log_path,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self._log.close()
        self._http.close()
        self.process = None
        self.port = 0


class PubSubEmulator(_Process):
    """Google's Pub/Sub emulator on 127.0.0.1, with REST helpers for one project."""

    what = "Pub/Sub emulator"

    def __init__(self, project: str, log_path: Path) -> None:
        super().__init__(log_path)
        self.project = project

    @property
    def host(self) -> str:
        """`host:port`, the value of PUBSUB_EMULATOR_HOST."""
        return f"127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> None:
        launcher = pubsub_emulator_launcher()
        if launcher is None:
            raise RuntimeError(INSTALL_HINT)
        self.port = port or free_port()
        command = [str(launcher), "--host=127.0.0.1", f"--port={self.port}"]
        self._launch(command, f"http://{self.host}", "/")

    def topic(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def create_topic(self, topic: str) -> None:
        self._call("PUT", f"/v1/{self.topic(topic)}", {})

    def delete_topic(self, topic: str) -> None:
        self._call("DELETE", f"/v1/{self.topic(topic)}")

    def subscription(self, name: str) -> str:
        return f"projects/{self.project}/subscriptions/{name}"

    def create_subscription(
        self,
        name: str,
        topic: str,
        *,
        push_endpoint: str | None = None,
        ack_deadline: int = 10,
        dead_letter: tuple[str, int] | None = None,
        backoff_seconds: tuple[float, float] | None = None,
    ) -> str:
        """A subscription on `topic`; `dead_letter` is (topic, max delivery attempts) and
        `backoff_seconds` the retry policy's (minimum, maximum). Its full name."""
        body: dict[str, Any] = {"topic": self.topic(topic), "ackDeadlineSeconds": ack_deadline}
        if push_endpoint:
            body["pushConfig"] = {"pushEndpoint": push_endpoint}
        if dead_letter is not None:
            body["deadLetterPolicy"] = {
                "deadLetterTopic": self.topic(dead_letter[0]),
                "maxDeliveryAttempts": dead_letter[1],
            }
        if backoff_seconds is not None:
            low, high = backoff_seconds
            body["retryPolicy"] = {"minimumBackoff": f"{low}s", "maximumBackoff": f"{high}s"}
        self._call("PUT", f"/v1/{self.subscription(name)}", body)
        return self.subscription(name)

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        """Publish one message; its message id."""
        message: dict[str, Any] = {"data": base64.b64encode(data).decode()}
        if attributes:
            message["attributes"] = attributes
        answer = self._call("POST", f"/v1/{self.topic(topic)}:publish", {"messages": [message]})
        return str(answer["messageIds"][0])

    def pull(self, subscription: str, max_messages: int = 100) -> list[dict[str, Any]]:
        """Messages waiting on a pull subscription (acknowledged): data decoded to bytes."""
        path = f"/v1/projects/{self.project}/subscriptions/{subscription}"
        answer = self._call(
            "POST", f"{path}:pull", {"maxMessages": max_messages, "returnImmediately": True}
        )
        received = answer.get("receivedMessages") or []
        if received:
            self._call("POST", f"{path}:acknowledge", {"ackIds": [m["ackId"] for m in received]})
        messages = []
        for item in received:
            message = dict(item["message"])
            message["data"] = base64.b64decode(message.get("data", ""))
            message.setdefault("attributes", {})
            messages.append(message)
        return messages

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self._http.request(method, path, json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer


class StorageEmulator(_Process):
    """`gcp-storage-emulator` in memory on 127.0.0.1, with a default bucket; `keep_alive`
    keeps connections open as Cloud Storage does (emulators/_storage_main.py, benches only)."""

    what = "Cloud Storage emulator"

    def __init__(self, bucket: str, log_path: Path, keep_alive: bool = False) -> None:
        super().__init__(log_path)
        self.bucket = bucket
        self.keep_alive = keep_alive

    @property
    def url(self) -> str:
        """The value of STORAGE_EMULATOR_HOST."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> None:
        self.port = port or free_port()
        command = [
            sys.executable,
            "-m",
            "emulators._storage_main",  # the emulator, without its O(objects) write cost
            *(["--keep-alive"] if self.keep_alive else []),
            "start",
            "--host=127.0.0.1",
            f"--port={self.port}",
            "--in-memory",
            f"--default-bucket={self.bucket}",
            "--quiet",
        ]
        self._launch(command, self.url, f"/storage/v1/b/{self.bucket}")

    def create_bucket(self, name: str) -> None:
        response = self._http.post(
            "/storage/v1/b", params={"project": "local"}, json={"name": name}
        )
        response.raise_for_status()

    def write(
        self, name: str, data: bytes, bucket: str | None = None, content_type: str = "text/plain"
    ) -> None:
        """Upload one object (a simple media upload)."""
        response = self._http.post(
            f"/upload/storage/v1/b/{bucket or self.bucket}/o",
            params={"uploadType": "media", "name": name},
            content=data,
            headers={"content-type": content_type},
        )
        response.raise_for_status()

    def names(self, prefix: str, bucket: str | None = None) -> list[str]:
        """Names of the objects under `prefix` (every page)."""
        names: list[str] = []
        token = None
        while True:
            params = {"prefix": prefix, **({"pageToken": token} if token else {})}
            answer = self._http.get(f"/storage/v1/b/{bucket or self.bucket}/o", params=params)
            answer.raise_for_status()
            body = answer.json()
            names.extend(item["name"] for item in body.get("items", []))
            token = body.get("nextPageToken")
            if not token:
                return names

    def read(self, name: str, bucket: str | None = None) -> tuple[bytes, str] | None:
        """An object's bytes and Content-Type; None when it does not exist."""
        path = f"/storage/v1/b/{bucket or self.bucket}/o/{quote(name, safe='')}"
        meta = self._http.get(path)
        if meta.status_code == 404:
            return None
        meta.raise_for_status()
        media = self._http.get(path, params={"alt": "media"})
        media.raise_for_status()
        return media.content, str(meta.json().get("contentType"))


def emulator_env(pubsub: PubSubEmulator | None, storage: StorageEmulator | None) -> dict[str, str]:
    """The client libraries' own variables for these emulators."""
    env = {}
    if pubsub is not None:
        env["PUBSUB_EMULATOR_HOST"] = pubsub.host
    if storage is not None:
        env["STORAGE_EMULATOR_HOST"] = storage.url
    return env


if __name__ == "__main__":  # pragma: no cover - a quick check that the emulator is installed
    launcher = pubsub_emulator_launcher()
    print(launcher or INSTALL_HINT)
    sys.exit(0 if launcher else 1)
