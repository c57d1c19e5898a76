"""Result sinks: one Pub/Sub topic and one Cloud Storage bucket, through Google's own clients.

The client libraries are imported, and their clients built, on the first delivery only: a
deployment without sinks never loads them, and nothing gRPC- or socket-shaped crosses the
server's fork. Each `send` is one attempt; the `Deliverer` owns retries and the deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ..logs import log

__all__ = ["GcsSink", "PubSubSink", "Sink", "is_permanent"]


class Sink(Protocol):
    """Somewhere a finished outcome can be written."""

    name: str

    async def send(
        self, data: bytes, attributes: dict[str, str], request_id: str, timeout: float
    ) -> str:
        """Write one outcome within `timeout` seconds; return its id (message id, gs:// URI)."""
        ...


class PubSubSink:
    """Publishes each outcome as one message (async GAPIC client; PUBSUB_EMULATOR_HOST honoured)."""

    name = "pubsub"

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._client: Any = None
        self._message: Any = None

    async def send(
        self, data: bytes, attributes: dict[str, str], request_id: str, timeout: float
    ) -> str:
        if self._client is None:
            # Built inside the running loop: a grpc.aio channel belongs to the loop it starts in.
            from google.pubsub_v1 import PublisherAsyncClient, PubsubMessage

            self._client = PublisherAsyncClient()
            self._message = PubsubMessage
        message = self._message(data=data, attributes=attributes)
        # retry=None: the Deliverer retries, under the delivery's own deadline.
        response = await self._client.publish(
            topic=self.topic, messages=[message], retry=None, timeout=timeout
        )
        return str(response.message_ids[0])


class GcsSink:
    """Writes `{prefix}{request_id}.json` once (sync client in a worker thread; multipart upload).

    Create-only (`if_generation_match=0`): an object already there means the outcome was
    delivered before (a redelivery, or a request id used again), which is reported as delivered,
    not as a failure retried until the message is dead-lettered. It also needs no more than
    permission to create objects.
    """

    name = "gcs"

    def __init__(self, bucket: str, prefix: str, project: str | None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.project = project
        self._bucket: Any = None

    async def send(
        self, data: bytes, attributes: dict[str, str], request_id: str, timeout: float
    ) -> str:
        name = f"{self.prefix}{request_id}.json"
        # The client does blocking HTTP (requests): keep it off the event loop.
        created = await asyncio.to_thread(self._upload, name, data, timeout)
        uri = f"gs://{self.bucket}/{name}"
        if not created:
            log(
                "INFO",
                "result object already exists; taken as delivered",
                event="delivery_exists",
                request_id=request_id,
                object=uri,
            )
        return uri

    def _upload(self, name: str, data: bytes, timeout: float) -> bool:
        """True when written; False when the object already existed (left as it is)."""
        from google.api_core.exceptions import PreconditionFailed

        if self._bucket is None:
            from google.cloud.storage import Client

            self._bucket = Client(project=self.project).bucket(self.bucket)
        blob = self._bucket.blob(name)
        try:
            # A known size under 8 MiB goes as one multipart upload; retry=None: the Deliverer
            # retries.
            blob.upload_from_string(
                data,
                content_type="application/json",
                timeout=timeout,
                retry=None,
                if_generation_match=0,
            )
        except PreconditionFailed:
            return False
        return True


def is_permanent(exc: BaseException) -> bool:
    """True for a failure that retrying cannot fix (a missing topic or bucket, no permission)."""
    try:
        from google.api_core import exceptions
    except ImportError:  # pragma: no cover - both clients depend on google-api-core
        return False
    # 429 / RESOURCE_EXHAUSTED, ABORTED, CANCELLED and 408 pass; other 4xx do not.
    if isinstance(exc, exceptions.TooManyRequests | exceptions.Aborted | exceptions.Cancelled):
        return False
    return isinstance(exc, exceptions.ClientError) and exc.code != 408
