"""Whether a message carrying bulk attributes may run as an item: only when BULK_BUCKETS allows
its folder and the run's manifest there lists its `custom_id` under its `bulk_id`.

Anyone who may publish to the prompts topic can set those attributes; without this check such a
message could write `{bulk_output}{custom_id}.json` wherever the service account can write, or
pre-empt a real run's item. A run's manifest never changes once written, so the ids of the few
runs an instance is working on are kept (a set of 50,000 ids is about 4 MiB).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from ..errors import InvalidRequest
from ..request import REQUEST_ID
from ._manifest import read_manifest
from ._store import BulkStore, GsPath

__all__ = ["ItemGate", "item_cache_id"]

# Runs whose ids an instance keeps at once; an item of another run reads its manifest again.
_RUNS_KEPT = 4


class ItemGate:
    """Reads (and keeps) the manifests items are checked against (blocking: worker thread)."""

    def __init__(self, store: BulkStore) -> None:
        self.store = store
        self._runs: OrderedDict[str, tuple[str, frozenset[str], str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def refusal(
        self,
        bulk_id: str,
        custom_id: str,
        output: GsPath,
        buckets: frozenset[str] | None,
        *,
        read: bool = True,
    ) -> str | None:
        """Why this item may not run, or None when it may. With `read` false it never blocks:
        LookupError when the run's manifest is not kept yet."""
        if buckets is not None and output.bucket not in buckets:
            return f"bucket {output.bucket!r} is not in BULK_BUCKETS"
        key = str(output)
        with self._lock:
            known = self._runs.get(key)
            if known is not None:
                self._runs.move_to_end(key)
        if known is None:
            if not read:
                raise LookupError(key)
            try:
                manifest = read_manifest(self.store, output)
            except InvalidRequest as exc:
                return exc.message
            known = (manifest.id, frozenset(manifest.custom_ids), manifest.service_tier)
            with self._lock:
                self._runs[key] = known
                while len(self._runs) > _RUNS_KEPT:
                    self._runs.popitem(last=False)
        run_id, ids, _ = known
        if run_id != bulk_id:
            return f"{output} holds bulk run {run_id!r}, not {bulk_id[:80]!r}"
        if custom_id not in ids:
            return f"bulk run {run_id!r} lists no item {custom_id!r}"
        return None

    def service_tier(self, output: GsPath) -> str | None:
        """The tier of the run at `output`, as its manifest (checked by `refusal`) says."""
        with self._lock:
            known = self._runs.get(str(output))
        return known[2] if known is not None else None


def item_cache_id(bulk_id: str, custom_id: str) -> str:
    """The id an item's gateway cache key is made from: `{bulk_id}:{custom_id}`, or its hash
    when that is longer than a request id may be (a 64-character run id and a 128-character
    custom_id), so every item has a key."""
    joined = f"{bulk_id}:{custom_id}"
    if REQUEST_ID.match(joined):
        return joined
    return "bulk-" + hashlib.sha256(joined.encode()).hexdigest()
