"""`gcp-storage-emulator` in memory, without its whole-state snapshot on every write, and with
Cloud Storage's generation preconditions.

In memory mode the emulator still serialises the metadata of *every* object to an in-memory
`.meta` file after each write (it is read back only at start-up, so in memory it is never read).
That makes a write cost O(objects) and a bulk run of 10,000 items O(n²) in the stand-in, which
would swamp what the bench measures.

The published emulator ignores `ifGenerationMatch` on uploads and `generation` on downloads.
Cloud Storage refuses an upload whose precondition fails (412) and serves only the generation
asked for (404 once it is replaced, without object versioning); bulk runs rely on both, so
this stand-in does the same. It serves one request at a time, so a check and the write after
it cannot interleave with another request. Everything else is the emulator as published.

The published emulator answers HTTP/1.0 and closes every connection; Cloud Storage keeps them
open. `--keep-alive` (benches only: bench/bulk.py) answers HTTP/1.1 and keeps them open, each
connection in its own thread, requests still handled one at a time under one lock, so that a
client's per-call cost is measured as it is against Cloud Storage.

    python -m emulators._storage_main start --in-memory ...   (the emulator's own arguments)
    python -m emulators._storage_main --keep-alive start ...
"""

from __future__ import annotations

import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from gcp_storage_emulator import server, storage  # type: ignore[import-untyped]
from gcp_storage_emulator.__main__ import main  # type: ignore[import-untyped]
from gcp_storage_emulator.exceptions import NotFound  # type: ignore[import-untyped]
from gcp_storage_emulator.handlers import objects  # type: ignore[import-untyped]

_snapshot = storage.Storage._write_config_to_file
_insert = objects.insert
_download = objects.download


def _snapshot_on_disk_only(self: Any) -> None:
    if not self._use_memory_fs:
        _snapshot(self)


def _current_generation(request: Any, store: Any, name: str | None) -> str:
    """The object's generation, "0" when it does not exist (as Cloud Storage counts it)."""
    try:
        return str(store.get_file_obj(request.params["bucket_name"], name)["generation"])
    except (NotFound, KeyError, TypeError):
        return "0"


def _refuse(response: Any, status: HTTPStatus, message: str) -> None:
    response.status = status
    response.json({"error": {"code": status.value, "message": message, "errors": []}})


def _insert_if_generation_matches(request: Any, response: Any, store: Any, *a: Any) -> Any:
    wanted = request.query.get("ifGenerationMatch")
    kind = (request.query.get("uploadType") or [""])[0]
    if wanted and kind in ("media", "multipart"):
        name = request.query.get("name", [None])[0]
        if name is None and kind == "multipart":
            name = request.data["meta"].get("name")
        if _current_generation(request, store, name) != wanted[0]:
            return _refuse(response, HTTPStatus.PRECONDITION_FAILED, "conditionNotMet")
    return _insert(request, response, store, *a)


def _download_generation(request: Any, response: Any, store: Any, *a: Any) -> Any:
    wanted = request.query.get("generation")
    if wanted and _current_generation(request, store, request.params["object_id"]) != wanted[0]:
        return _refuse(response, HTTPStatus.NOT_FOUND, "No such object generation")
    return _download(request, response, store, *a)


def _patch_routes() -> None:
    objects.insert = _insert_if_generation_matches  # the server's fallback looks it up here
    objects.download = _download_generation
    for _, handlers in server.HANDLERS:
        for method, handler in list(handlers.items()):
            if handler is _insert:
                handlers[method] = _insert_if_generation_matches
            elif handler is _download:
                handlers[method] = _download_generation


def _keep_alive() -> None:
    """HTTP/1.1 with persistent connections, a thread per connection, one request at a time."""
    lock = threading.Lock()
    handle = server.Router.handle

    def handle_alone(self: Any, method: str) -> None:
        with lock:  # a check and the write after it stay atomic, as with one thread
            handle(self, method)

    def run(self: Any) -> None:
        self._httpd = ThreadingHTTPServer(
            (self._host, self._port), partial(server.RequestHandler, self._storage)
        )
        self._httpd.daemon_threads = True
        self.is_running.set()
        self._httpd.serve_forever()

    server.Router.handle = handle_alone
    server.RequestHandler.protocol_version = "HTTP/1.1"  # every answer has a Content-Length
    server.APIThread.run = run


if __name__ == "__main__":
    storage.Storage._write_config_to_file = _snapshot_on_disk_only
    _patch_routes()
    arguments = sys.argv[1:]
    if "--keep-alive" in arguments:
        arguments.remove("--keep-alive")
        _keep_alive()
    main(arguments)
