"""Bulk runs (docs/bulk.md): a JSONL file in Cloud Storage fanned out as one Pub/Sub message a
line, each outcome written to `{output}{custom_id}.json`, counted and assembled.

Submission (`_submit.py`) checks the whole file first and publishes nothing for a bad one, and
publishes each line once. Status counts the item objects against the manifest (`_manifest.py`).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from ..errors import InvalidRequest
from ..settings import Settings
from ._lines import openai_line
from ._manifest import Manifest, read_manifest
from ._rerun import rerun
from ._store import PARTS, BulkStore, GsPath, allowed_bucket
from ._submit import output_folder, submit, turn

__all__ = ["BulkRuns", "decode_bulk_body", "item_metadata"]

RESULTS = "results.jsonl"
OPENAI_RESULTS = "openai_results.jsonl"
_JSONL = "application/jsonl"


class _Submit(msgspec.Struct, forbid_unknown_fields=True):
    output: str
    input: str | None = None
    id: str | None = None
    # "failed": run again the items whose outcome is an error (_rerun.py).
    rerun: Literal["failed"] | None = None
    # The tier every line that names none runs at (kept in the manifest).
    service_tier: Literal["auto", "default", "flex", "priority"] | None = None


class _Status(msgspec.Struct, forbid_unknown_fields=True):
    output: str


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    bulk: _Submit | None = None
    bulk_status: _Status | None = None
    # A Cloud Scheduler job's body always says whether to deliver; a bulk run's items are its
    # delivery, so the flag is accepted and has no effect.
    deliver: bool | None = None


_body_decoder = msgspec.json.Decoder(_Body)
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
    settings: Settings

    async def answer(self, request: _Submit | _Status) -> dict[str, Any]:
        topic = self.settings.bulk_topic
        if topic is None:
            # A deployment without the setting has no bulk runs: the caller's request is what
            # cannot be served, so a 400, and no Cloud Storage client is ever built.
            raise InvalidRequest("bulk runs are off here: BULK_TOPIC is not set (docs/bulk.md)")
        if isinstance(request, _Submit) and request.rerun is not None:
            output = output_folder(request, self.settings)
            if request.input is not None or request.id is not None:
                raise InvalidRequest("bulk.rerun: give output only; the run names its input")
            async with turn(output):
                return await rerun(self.store, topic, output)
        if isinstance(request, _Submit):
            return await submit(self.store, self.settings, topic, request)
        output = GsPath.parse(request.output, "bulk_status.output", folder=True)
        allowed_bucket(output, self.settings.bulk_buckets, "bulk_status.output")
        return await asyncio.to_thread(self.status, output)

    def status(self, output: GsPath) -> dict[str, Any]:
        """Counts so far from one paged listing; the assembled output once all are finished."""
        manifest = read_manifest(self.store, output)
        total = manifest.total
        succeeded = failed = dead_lettered = tokens = 0
        cost = 0.0
        last = manifest.created
        for name, metadata, created in self.store.list_items(output):
            if not name.endswith(".json") or name.startswith("_bulk"):
                continue
            last = max(last, created)
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
            "bulk_id": manifest.id,
            "state": "running" if pending else "done",
            "total": total,
            "succeeded": succeeded,
            "failed": failed,
            "pending": pending,
            # Finished too, as error lines; counted apart from `failed` (docs/bulk.md).
            "dead_lettered": dead_lettered,
            # Until the last item was written, once there are none left to run.
            "elapsed_seconds": round((last if not pending else time.time()) - manifest.created, 3),
            "tokens": tokens,
            "cost_usd": round(cost, 8),
            "output": str(output),
            "results": None,
            "openai_results": None,
        }
        if not pending:
            answer.update(self._assemble(output, manifest))
        return answer

    def _assemble(self, output: GsPath, manifest: Manifest) -> dict[str, Any]:
        """results.jsonl composed from the item objects in input order (each is one line), and
        its OpenAI-shaped twin streamed from it; each made once."""
        results = output.child(RESULTS)
        if not self.store.exists(results):
            sources = [output.child(f"{cid}.json") for cid in manifest.custom_ids]
            self.store.compose(sources, results, _JSONL)
        # Only once results.jsonl exists, and on every call after: a call that died half way
        # through deleting leaves the rest to the next (an empty listing when none are left).
        self.store.delete_under(output.child(RESULTS + PARTS))
        assembled: dict[str, Any] = {"results": str(results)}
        if manifest.openai:
            twin = output.child(OPENAI_RESULTS)
            if not self.store.exists(twin):
                lines = (
                    openai_line(msgspec.json.decode(line)) for line in self.store.lines(results)
                )
                self.store.write_lines(twin, lines, _JSONL)
            assembled["openai_results"] = str(twin)
        return assembled
