"""Environment variables read into typed values, each failure a ConfigError naming the variable.

Generic readers (text, numbers in a range, flags, URLs) and the Google resource names the
settings take (a Pub/Sub topic, a Cloud Storage bucket, an object prefix).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from .errors import ConfigError

__all__ = [
    "bucket",
    "buckets",
    "flag",
    "integer",
    "number",
    "optional_flag",
    "prefix",
    "text",
    "topic",
    "url",
]

_TOPIC_ID = r"[A-Za-z][A-Za-z0-9._~+%-]{2,254}"
_TOPIC_FORMS = (
    re.compile(
        rf"projects/(?P<project>[a-z][a-z0-9.:-]{{4,61}}[a-z0-9])/topics/(?P<topic>{_TOPIC_ID})"
    ),
    re.compile(rf"(?P<topic>{_TOPIC_ID})"),
)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def number(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, not {raw[:40]!r}") from exc
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, not {raw[:40]!r}")
    return value


def integer(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw[:40]!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw[:40]!r}")


def optional_flag(env: Mapping[str, str], name: str) -> bool | None:
    """true/false, or None when unset (the gateway's own default then applies)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return None
    return flag(env, name)


def url(env: Mapping[str, str], name: str) -> str | None:
    value = text(env, name)
    if value is not None and (
        not value.startswith(("http://", "https://")) or any(c.isspace() for c in value)
    ):
        raise ConfigError(f"{name} must be an http(s) URL")
    return value


def topic(env: Mapping[str, str], name: str, project: str | None) -> str | None:
    """A Pub/Sub topic as `projects/P/topics/T`; a bare `T` takes GOOGLE_CLOUD_PROJECT."""
    raw = text(env, name)
    if raw is None:
        return None
    for form in _TOPIC_FORMS:
        match = form.fullmatch(raw)
        if match is None:
            continue
        topic_project = match.groupdict().get("project") or project
        if topic_project is None:
            raise ConfigError(f"{name} is a bare topic id, so GOOGLE_CLOUD_PROJECT must be set")
        if match["topic"].startswith("goog"):
            break
        return f"projects/{topic_project}/topics/{match['topic']}"
    raise ConfigError(
        f"{name} must be projects/P/topics/T or a bare topic id (3-255 characters, starting "
        f"with a letter), not {raw[:80]!r}"
    )


def bucket(env: Mapping[str, str], name: str) -> str | None:
    raw = text(env, name)
    if raw is None:
        return None
    bucket = raw.removeprefix("gs://").rstrip("/")
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError(
            f"{name} must be a Cloud Storage bucket name (3-222 of a-z 0-9 - _ ., starting and "
            f"ending with a letter or digit), not {raw[:80]!r}"
        )
    return bucket


def buckets(env: Mapping[str, str], name: str) -> frozenset[str] | None:
    """A comma list of bucket names (`gs://` and a trailing `/` allowed); None when unset."""
    raw = text(env, name)
    if raw is None:
        return None
    names = [part.strip().removeprefix("gs://").rstrip("/") for part in raw.split(",")]
    names = [part for part in names if part]
    bad = [part for part in names if not _BUCKET.fullmatch(part)]
    if bad or not names:
        raise ConfigError(
            f"{name} must be a comma list of Cloud Storage bucket names (3-222 of a-z 0-9 - _ ., "
            f"starting and ending with a letter or digit), not {(bad or [raw])[0][:80]!r}"
        )
    return frozenset(names)


def prefix(env: Mapping[str, str], name: str, default: str) -> str:
    """An object-name prefix; unset means `default`, set but empty means none."""
    if name not in env:
        return default
    raw = env[name].strip()
    if len(raw) > 512 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ConfigError(f"{name} must be at most 512 characters with no control characters")
    return raw
