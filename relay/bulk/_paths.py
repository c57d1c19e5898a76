"""Cloud Storage names in bulk bodies: `gs://BUCKET/NAME`, and BULK_BUCKETS applied to them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidRequest

__all__ = ["GsPath", "allowed_bucket"]

_GS = re.compile(r"^gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<name>[^\r\n]*)\Z")


@dataclass(frozen=True, slots=True)
class GsPath:
    """A bucket and an object name (or, ending in `/`, a prefix)."""

    bucket: str
    name: str

    @classmethod
    def parse(cls, uri: str, field: str, *, folder: bool) -> GsPath:
        match = _GS.match(uri)
        if match is None:
            raise InvalidRequest(f"{field}: must be gs://BUCKET/NAME")
        name = match["name"]
        if folder and name and not name.endswith("/"):
            raise InvalidRequest(f"{field}: must end in / (a folder for the results)")
        if not folder and (not name or name.endswith("/")):
            raise InvalidRequest(f"{field}: must name an object, not a folder")
        return cls(match["bucket"], name)

    def child(self, name: str) -> GsPath:
        return GsPath(self.bucket, self.name + name)

    def __str__(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


def allowed_bucket(path: GsPath, buckets: frozenset[str] | None, field: str) -> None:
    """InvalidRequest naming the bucket when BULK_BUCKETS is set and does not list it."""
    if buckets is not None and path.bucket not in buckets:
        raise InvalidRequest(f"{field}: bucket {path.bucket!r} is not in BULK_BUCKETS")
