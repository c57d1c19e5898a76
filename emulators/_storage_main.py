"""`gcp-storage-emulator` in memory, without its whole-state snapshot on every write.

In memory mode the emulator still serialises the metadata of *every* object to an in-memory
`.meta` file after each write (it is read back only at start-up, so in memory it is never read).
That makes a write cost O(objects) and a bulk run of 10,000 items O(n²) in the stand-in, which
would swamp what the bench measures. Everything else is the emulator as published.

    python -m emulators._storage_main start --in-memory ...   (the emulator's own arguments)
"""

from __future__ import annotations

import sys
from typing import Any

from gcp_storage_emulator import storage  # type: ignore[import-untyped]
from gcp_storage_emulator.__main__ import main  # type: ignore[import-untyped]

_snapshot = storage.Storage._write_config_to_file


def _snapshot_on_disk_only(self: Any) -> None:
    if not self._use_memory_fs:
        _snapshot(self)


if __name__ == "__main__":
    storage.Storage._write_config_to_file = _snapshot_on_disk_only
    main(sys.argv[1:])
