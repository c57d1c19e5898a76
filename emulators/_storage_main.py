"""`gcp-storage-emulator` in memory, with two changes to the published emulator.

- No whole-state snapshot on every write. In memory mode the emulator still serialises the
  metadata of *every* object to an in-memory `.meta` file after each write (it is read back only
  at start-up, so in memory it is never read). That makes a write cost O(objects) and a bulk run
  of 10,000 items O(n²) in the stand-in, which would swamp what the bench measures.
- `ifGenerationMatch=0` on an upload is honoured as Cloud Storage does: when the object exists,
  412 and nothing written. The published emulator ignores the parameter and overwrites, so
  create-only writes could not be tested against it.

Everything else is the emulator as published.

    python -m emulators._storage_main start --in-memory ...   (the emulator's own arguments)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from gcp_storage_emulator import storage  # type: ignore[import-untyped]
from gcp_storage_emulator.__main__ import main  # type: ignore[import-untyped]
from gcp_storage_emulator.exceptions import NotFound  # type: ignore[import-untyped]
from gcp_storage_emulator.handlers import objects  # type: ignore[import-untyped]

_snapshot = storage.Storage._write_config_to_file
# Cloud Storage's answer when a precondition fails (JSON API error shape).
_PRECONDITION_FAILED = {
    "error": {
        "code": 412,
        "message": "At least one of the pre-conditions you specified did not hold.",
        "errors": [{"reason": "conditionNotMet", "location": "If-Match"}],
    }
}


def _snapshot_on_disk_only(self: Any) -> None:
    if not self._use_memory_fs:
        _snapshot(self)


def _create_only(upload: Callable[..., Any], name_of: Callable[[Any], str]) -> Callable[..., Any]:
    """`upload`, refused with 412 when it asks for ifGenerationMatch=0 and the object exists."""

    def guarded(request: Any, response: Any, store: Any) -> Any:
        if request.query.get("ifGenerationMatch") == ["0"]:
            try:
                store.get_file_obj(request.params["bucket_name"], name_of(request))
            except NotFound:
                pass
            else:
                response.status = HTTPStatus.PRECONDITION_FAILED
                response.json(_PRECONDITION_FAILED)
                return None
        return upload(request, response, store)

    return guarded


def _multipart_name(request: Any) -> str:
    names = request.query.get("name")
    return str(names[0] if names else request.data["meta"].get("name"))


if __name__ == "__main__":
    storage.Storage._write_config_to_file = _snapshot_on_disk_only
    # `insert` looks these up by name on each call, so replacing them here takes effect.
    objects._multipart_upload = _create_only(objects._multipart_upload, _multipart_name)
    objects._media_upload = _create_only(objects._media_upload, lambda r: r.query["name"][0])
    main(sys.argv[1:])
