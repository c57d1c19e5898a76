"""`{"bulk": {"output": ..., "rerun": "failed"}}`: the items of a run whose outcome is an error
(failed or dead-lettered) run again, once each, under the same run.

A rerun is a round recorded in `{output}_bulk_rerun.json` (`round`, the ids, `cleared`), written
only with a generation precondition, so two reruns at once make one round. The round's winner
deletes those items' objects (and the assembled output and the completion marker, so the run
counts, assembles and announces itself again), marks the round cleared, then publishes the
items from the run's input generation under a lease of the round's own (`_lease.py`), exactly as
a submission does. A rerun while a round is being published resumes it; while its items are
still running, it publishes nothing more; once they are all finished, it starts the next round.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from ..errors import InvalidRequest
from ._finish import DONE
from ._lease import PublishLease
from ._manifest import MANIFEST, Manifest, read_manifest
from ._store import PARTS, BulkStore, GsPath
from ._submit import publish_items

__all__ = ["RERUN", "rerun"]

RERUN = "_bulk_rerun.json"
_JSON = "application/json"
# What a round deletes besides the items: the run is assembled and announced again.
_ASSEMBLED = ("results.jsonl", "openai_results.jsonl", DONE)


class _Round(msgspec.Struct):
    round: int
    ids: list[str]
    cleared: bool = False


async def rerun(store: BulkStore, topic: str, output: GsPath) -> dict[str, Any]:
    """Run again the run's items that ended in an error; the submission answer's shape."""
    manifest = await asyncio.to_thread(read_manifest, store, output)
    current = await asyncio.to_thread(_start_or_resume, store, output, manifest)
    already = published = 0
    if current is not None:
        lease = PublishLease(store, output.child(f"_bulk_rerun_{current.round}_published.json"))
        already, published = await publish_items(
            store, topic, lease, manifest, len(current.ids), frozenset(current.ids)
        )
    return {
        "ok": True,
        "bulk_id": manifest.id,
        "total": manifest.total,
        "published": published,
        "already_published": already,
        "output": str(output),
        "manifest": str(output.child(MANIFEST)),
    }


def _start_or_resume(store: BulkStore, output: GsPath, manifest: Manifest) -> _Round | None:
    """The round to publish (new, or one whose publishing is unfinished); None when there is
    nothing to publish (no item in error, or the last round's items still running)."""
    path = output.child(RERUN)
    found = store.read_versioned(path)
    previous, generation = (None, 0) if found is None else (_decode(found[0]), found[1])
    if previous is not None and not previous.cleared:
        return _clear(store, output, previous, generation)  # a round that died while clearing
    finished, errors = _outcomes(store, output)
    if previous is not None:
        lease = PublishLease(store, output.child(f"_bulk_rerun_{previous.round}_published.json"))
        if lease.published() < len(previous.ids):
            return previous
        if not finished.issuperset(previous.ids):
            return None  # under way: a second rerun publishes nothing more
    ids = [cid for cid in manifest.custom_ids if cid in errors]
    if not ids:
        return None
    fresh = _Round((previous.round if previous else 0) + 1, ids)
    written = store.put_if(path, msgspec.json.encode(fresh), _JSON, generation)
    if written is None:
        return None  # another rerun made this round
    return _clear(store, output, fresh, written)


def _clear(store: BulkStore, output: GsPath, round_: _Round, generation: int) -> _Round | None:
    """Delete the round's item objects and the assembled output, then mark it cleared."""
    store.delete_names(output, [f"{cid}.json" for cid in round_.ids] + list(_ASSEMBLED))
    store.delete_under(output.child("results.jsonl" + PARTS))
    cleared = _Round(round_.round, round_.ids, cleared=True)
    if store.put_if(output.child(RERUN), msgspec.json.encode(cleared), _JSON, generation) is None:
        return None
    return cleared


def _outcomes(store: BulkStore, output: GsPath) -> tuple[set[str], set[str]]:
    """(ids with an outcome written, ids whose outcome is an error), from one listing."""
    finished: set[str] = set()
    errors: set[str] = set()
    for name, metadata, _ in store.list_items(output):
        if not name.endswith(".json") or name.startswith("_bulk"):
            continue
        custom_id = name.removesuffix(".json")
        finished.add(custom_id)
        if metadata.get("ok") != "true":
            errors.add(custom_id)
    return finished, errors


def _decode(data: bytes) -> _Round:
    try:
        return msgspec.json.decode(data, type=_Round)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidRequest(f"{RERUN} is not a rerun record") from None
