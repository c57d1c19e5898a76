"""A run's manifest `{output}_bulk.json`: written once, before any item is published, and
never changed; what status counts against and what an item must be listed in to run."""

from __future__ import annotations

import msgspec

from ..errors import InvalidRequest
from ._store import BulkStore, GsPath

__all__ = ["MANIFEST", "Manifest", "create_or_match", "read_manifest"]

MANIFEST = "_bulk.json"
_JSON = "application/json"


class Manifest(msgspec.Struct, kw_only=True):
    """The run: its id, the input object (and the generation checked), the ids in order."""

    id: str
    input: str
    generation: int
    output: str
    total: int
    created: float
    custom_ids: list[str]
    # How many lines are OpenAI Batch lines: any, and openai_results.jsonl is written too.
    openai: int = 0
    # The run's service_tier, for every line that names none.
    service_tier: str | None = None


def read_manifest(store: BulkStore, output: GsPath) -> Manifest:
    """The manifest of the run at `output`; InvalidRequest when there is none, or when the
    object there is not one (a caller's mistake: asking again cannot help)."""
    path = output.child(MANIFEST)
    data = store.read(path)
    if data is None:
        raise InvalidRequest(f"no bulk run at {output} ({MANIFEST} not found)")
    try:
        manifest = msgspec.json.decode(data, type=Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidRequest(f"{path} is not a bulk run manifest ({exc})"[:300]) from None
    if manifest.total != len(manifest.custom_ids):
        raise InvalidRequest(f"{path} is not a bulk run manifest (total and ids disagree)")
    return manifest


def create_or_match(store: BulkStore, output: GsPath, fresh: Manifest) -> Manifest:
    """`fresh` written as the run's manifest, or the one already there when it is the same run
    (same id, same input generation); InvalidRequest for any other run in that folder."""
    if store.put_if(output.child(MANIFEST), msgspec.json.encode(fresh), _JSON, 0) is not None:
        return fresh
    existing = read_manifest(store, output)
    if existing.id != fresh.id:
        raise InvalidRequest(
            f"bulk.output: {output} already holds bulk run {existing.id!r}; choose another folder"
        )
    if (existing.input, existing.generation) != (fresh.input, fresh.generation):
        raise InvalidRequest(
            f"bulk.id: run {existing.id!r} at {output} was submitted with {existing.input} "
            f"(generation {existing.generation}); a run's id names one input: choose another "
            "id or folder"
        )
    return existing
