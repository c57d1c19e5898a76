"""An object generation read a range at a time: what a submission holds of its input stays
under one range (plus the line being read), whatever the object's size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._auth import RestError
from ._paths import GsPath

if TYPE_CHECKING:
    from ._store import BulkStore

__all__ = ["ObjectGone", "RangeReader"]


class ObjectGone(RestError):
    """The object, or the generation asked for, does not exist (any more)."""


class RangeReader:
    """`read(n)` over one object generation, fetching `chunk` bytes a request."""

    def __init__(self, store: BulkStore, path: GsPath, generation: int, chunk: int) -> None:
        self.store, self.path, self.generation, self.chunk = store, path, generation, chunk
        self.offset = 0
        self.buffer = b""
        self.done = False

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.buffer = b""

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size and not self.done:
            self._fetch()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _fetch(self) -> None:
        end = self.offset + self.chunk - 1
        answer = self.store.get_range(self.path, self.generation, self.offset, end)
        if answer.status_code == 416:  # past the end (an empty object)
            self.done = True
            return
        if answer.status_code == 404:
            raise ObjectGone(f"{self.path} generation {self.generation} is gone")
        if answer.status_code >= 300:
            raise RestError(f"storage read {self.path}: HTTP {answer.status_code}")
        got = answer.content
        self.buffer += got
        self.offset += len(got)
        if answer.status_code == 200 or len(got) < self.chunk:
            self.done = True  # a 200 is the whole object (the range was ignored or covered it)
