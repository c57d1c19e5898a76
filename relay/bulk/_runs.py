"""Bulk runs (docs/bulk.md): a JSONL file in Cloud Storage fanned out as one Pub/Sub message a
line, each outcome written to `{output}{custom_id}.json`, counted and assembled on request.

Submission checks the whole file first and publishes nothing for a bad one. It is idempotent:
the manifest `{output}_bulk.json` names the run, and `{output}_bulk_published.json` how many
items are published, so a re-submission publishes only what was not.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from ..errors import InvalidRequest, PayloadTooLarge
from ._lines import BulkItem, openai_line, parse_bulk_file
from ._store import PARTS, BulkStore, GsPath, publish_items

__all__ = [
    "BULK_MAX_BYTES",
    "BULK_MAX_ITEMS",
    "MANIFEST",
    "BulkRuns",
    "decode_bulk_body",
    "item_metadata",
]

BULK_MAX_BYTES = 256 * 1024 * 1024
BULK_MAX_ITEMS = 50_000
MANIFEST = "_bulk.json"
PUBLISHED = "_bulk_published.json"
RESULTS = "results.jsonl"
OPENAI_RESULTS = "openai_results.jsonl"
_JSON = "application/json"
_JSONL = "application/jsonl"
_PUBLISH_TIMEOUT_SECONDS = 60.0


class _Submit(msgspec.Struct, forbid_unknown_fields=True):
    input: str
    output: str
    id: str | None = None


class _Status(msgspec.Struct, forbid_unknown_fields=True):
    output: str


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    bulk: _Submit | None = None
    bulk_status: _Status | None = None
    # A Cloud Scheduler job's body always says whether to deliver; a bulk run's items are its
    # delivery, so the flag is accepted and has no effect.
    deliver: bool | None = None


_body_decoder = msgspec.json.Decoder(_Body)
_BULK_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
_BULK_PREFIX = re.compile(rb'^\s*\{\s*"bulk(?:_status)?"\s*:')


def decode_bulk_body(body: bytes) -> _Submit | _Status | None:
    """The `bulk` or `bulk_status` of a body; None when it is neither (an ordinary prompt)."""
    if not _BULK_PREFIX.match(body):
        # The fast test misses `{"deliver": true, "bulk": ...}`: look at the keys, only for the
        # rare body that mentions bulk at all (a key spelled with \u escapes is not looked for).
        if b"bulk" not in body:
            return None
        try:
            keys = msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return None  # the relay's own decoder says what is wrong
        if not (isinstance(keys, dict) and {"bulk", "bulk_status"} & keys.keys()):
            return None
    try:
        decoded = _body_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"bulk body: {exc}"[:300]) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("body is not valid JSON") from None
    found = [part for part in (decoded.bulk, decoded.bulk_status) if part is not None]
    if len(found) != 1:
        raise InvalidRequest("exactly one of bulk or bulk_status is required")
    return found[0]


def item_metadata(outcome: dict[str, Any], *, dead_lettered: bool = False) -> dict[str, str]:
    """What status sums, kept as the item object's metadata (so listing is enough)."""
    usage = outcome.get("usage") if isinstance(outcome.get("usage"), dict) else {}
    assert isinstance(usage, dict)
    cost = outcome.get("cost_usd")
    metadata = {
        "ok": "true" if outcome.get("ok") else "false",
        "tokens": str(int(usage.get("total_tokens") or 0)),
        "cost_usd": repr(float(cost)) if isinstance(cost, int | float) else "",
    }
    if dead_lettered:
        metadata["dead_lettered"] = "true"
    return metadata


@dataclass(frozen=True, slots=True)
class BulkRuns:
    """Submits bulk runs and reports on them."""

    store: BulkStore
    topic: str | None

    async def answer(self, request: _Submit | _Status) -> dict[str, Any]:
        if self.topic is None:
            # A deployment without the setting has no bulk runs: the caller's request is what
            # cannot be served, so a 400, and no Cloud Storage client is ever built.
            raise InvalidRequest("bulk runs are off here: BULK_TOPIC is not set (docs/bulk.md)")
        if isinstance(request, _Submit):
            return await self.submit(request)
        return await asyncio.to_thread(
            self.status, GsPath.parse(request.output, "bulk_status.output", folder=True)
        )

    async def submit(self, request: _Submit) -> dict[str, Any]:
        assert self.topic is not None  # checked by answer()
        source = GsPath.parse(request.input, "bulk.input", folder=False)
        # `{date}` (UTC) gives a scheduled job a new folder, so a new run, each day.
        day = time.strftime("%Y-%m-%d", time.gmtime())
        output = GsPath.parse(request.output.replace("{date}", day), "bulk.output", folder=True)
        if request.id is not None and not _BULK_ID.match(request.id):
            raise InvalidRequest("bulk.id: 1 to 64 of A-Z a-z 0-9 . _ -")
        items, generation = await asyncio.to_thread(self._read_input, source)
        bulk_id = request.id or _bulk_id(source, generation, output)
        manifest = await asyncio.to_thread(
            self._manifest, output, bulk_id, source, generation, items
        )
        done = await asyncio.to_thread(self._published, output)
        todo = items[done:]
        attributes = {"bulk_id": bulk_id, "bulk_output": str(output)}
        messages = [
            (item.body, {**attributes, "custom_id": item.custom_id, "request_id": item.custom_id})
            for item in todo
        ]

        async def progress(count: int) -> None:
            marker = msgspec.json.encode({"published": done + count})
            await asyncio.to_thread(self.store.write, output.child(PUBLISHED), marker, _JSON)

        if messages:
            await publish_items(self.topic, messages, _PUBLISH_TIMEOUT_SECONDS, progress)
        return {
            "ok": True,
            "bulk_id": bulk_id,
            "total": manifest["total"],
            "published": len(messages),
            "already_published": done,
            "output": str(output),
            "manifest": str(output.child(MANIFEST)),
        }

    def _read_input(self, source: GsPath) -> tuple[list[BulkItem], int]:
        stat = self.store.stat(source)
        if stat is None:
            raise InvalidRequest(f"bulk.input: {source} does not exist or cannot be read")
        size, generation = stat
        if size > BULK_MAX_BYTES:
            raise PayloadTooLarge(f"bulk.input is {size} bytes; the limit is {BULK_MAX_BYTES}")
        data = self.store.read(source, generation)
        if data is None:
            raise InvalidRequest(f"bulk.input: {source} disappeared while being read")
        return parse_bulk_file(data, BULK_MAX_ITEMS), generation

    def _manifest(
        self, output: GsPath, bulk_id: str, source: GsPath, generation: int, items: list[BulkItem]
    ) -> dict[str, Any]:
        manifest = {
            "id": bulk_id,
            "input": str(source),
            "generation": generation,
            "output": str(output),
            "total": len(items),
            "openai": sum(1 for item in items if item.openai_url),
            "created": time.time(),
            "custom_ids": [item.custom_id for item in items],
        }
        path = output.child(MANIFEST)
        if self.store.create(path, msgspec.json.encode(manifest), _JSON):
            return manifest
        existing = self._read_manifest(output)
        if existing.get("id") != bulk_id:
            raise InvalidRequest(
                f"bulk.output: {output} already holds bulk run {existing.get('id')!r}; "
                "choose another folder"
            )
        return existing

    def _read_manifest(self, output: GsPath) -> dict[str, Any]:
        data = self.store.read(output.child(MANIFEST))
        if data is None:
            raise InvalidRequest(f"no bulk run at {output} ({MANIFEST} not found)")
        manifest: dict[str, Any] = msgspec.json.decode(data)
        return manifest

    def _published(self, output: GsPath) -> int:
        data = self.store.read(output.child(PUBLISHED))
        return int(msgspec.json.decode(data).get("published", 0)) if data else 0

    def status(self, output: GsPath) -> dict[str, Any]:
        """Counts so far from one paged listing; the assembled output once all are finished."""
        manifest = self._read_manifest(output)
        total = int(manifest["total"])
        succeeded = failed = dead_lettered = tokens = 0
        cost = 0.0
        for name, metadata in self.store.list_items(output):
            if not name.endswith(".json") or name.startswith("_bulk"):
                continue
            if metadata.get("ok") == "true":
                succeeded += 1
            elif metadata.get("dead_lettered") == "true":
                dead_lettered += 1
            else:
                failed += 1
            tokens += int(metadata.get("tokens") or 0)
            cost += float(metadata.get("cost_usd") or 0.0)
        pending = max(total - succeeded - failed - dead_lettered, 0)
        answer: dict[str, Any] = {
            "ok": True,
            "bulk_id": manifest["id"],
            "state": "running" if pending else "done",
            "total": total,
            "succeeded": succeeded,
            "failed": failed,
            "pending": pending,
            # Finished too, as error lines; counted apart from `failed` (docs/bulk.md).
            "dead_lettered": dead_lettered,
            "elapsed_seconds": round(time.time() - float(manifest["created"]), 3),
            "tokens": tokens,
            "cost_usd": round(cost, 8),
            "output": str(output),
            "results": None,
            "openai_results": None,
        }
        if not pending:
            answer.update(self._assemble(output, manifest))
        return answer

    def _assemble(self, output: GsPath, manifest: dict[str, Any]) -> dict[str, Any]:
        """results.jsonl composed from the item objects in input order (each is one line), and
        its OpenAI-shaped twin streamed from it; each made once."""
        results = output.child(RESULTS)
        if not self.store.exists(results):
            sources = [output.child(f"{cid}.json") for cid in manifest["custom_ids"]]
            self.store.compose(sources, results, _JSONL)
        # Only once results.jsonl exists, and on every call after: a call that died half way
        # through deleting leaves the rest to the next (an empty listing when none are left).
        self.store.delete_under(output.child(RESULTS + PARTS))
        assembled: dict[str, Any] = {"results": str(results)}
        if manifest.get("openai"):
            twin = output.child(OPENAI_RESULTS)
            if not self.store.exists(twin):
                lines = (
                    openai_line(msgspec.json.decode(line)) for line in self.store.lines(results)
                )
                self.store.write_lines(twin, lines, _JSONL)
            assembled["openai_results"] = str(twin)
        return assembled


def _bulk_id(source: GsPath, generation: int, output: GsPath) -> str:
    """The same input object (same generation) into the same folder is the same run."""
    digest = hashlib.sha256(f"{source}#{generation}>{output}".encode()).hexdigest()
    return f"bulk-{digest[:20]}"
