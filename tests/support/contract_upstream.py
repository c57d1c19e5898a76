"""The contract's word on what may reach the gateway: collecting and checking upstream requests
(see contract.py for the tables they follow).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from emulators.gateway import GatewayEmulator, RecordedRequest
from tests.support.constants import OPENAI_KEY, TOKEN
from tests.support.contract import (
    ALLOWED_UPSTREAM_HEADERS,
    DEFAULT_API,
    DEFAULT_MODEL,
    DERIVED_UPSTREAM_HEADERS,
    UPSTREAM_PATHS,
    given_fields,
)
from tests.support.contract_answers import canonical, strict_json


class Upstream:
    """What reached the gateway emulator while a block ran."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []


@contextmanager
def upstream_during(gateway: GatewayEmulator) -> Iterator[Upstream]:
    """Collect the requests the gateway emulator records inside the block."""
    seen = Upstream()
    before = gateway.stats()["requests"]
    yield seen
    added = gateway.stats()["requests"] - before
    if added:
        seen.requests = gateway.requests[-added:]


def expected_cf_headers(payload: Mapping[str, Any], job: str | None) -> dict[str, str]:
    """The cf-aig-* headers (credentials aside) a valid request asks for, by the contract."""
    fields = given_fields(payload)
    headers: dict[str, str] = {}
    metadata = fields.get("metadata")
    if metadata is None and job:
        metadata = {"scheduler_job": job}
    if metadata:
        headers["cf-aig-metadata"] = canonical(metadata)
    cache = given_fields(fields.get("cache") or {})
    if "ttl" in cache:
        headers["cf-aig-cache-ttl"] = str(cache["ttl"])
    if cache.get("skip") is True:
        headers["cf-aig-skip-cache"] = "true"
    if "key" in cache:
        headers["cf-aig-cache-key"] = cache["key"]
    log = given_fields(fields.get("log") or {})
    for name, header in (
        ("collect", "cf-aig-collect-log"),
        ("payload", "cf-aig-collect-log-payload"),
    ):
        if name in log:
            headers[header] = "true" if log[name] else "false"
    if "zdr" in fields:
        headers["cf-aig-zdr"] = "true" if fields["zdr"] else "false"
    if "byok_alias" in fields:
        headers["cf-aig-byok-alias"] = fields["byok_alias"]
    return headers


def check_upstream(
    recorded: RecordedRequest,
    payload: Mapping[str, Any],
    *,
    base_path: str,
    host: str,
    job: str | None = None,
) -> None:
    """One upstream request for a valid `payload`: fixed host and path, only contract headers."""
    fields = given_fields(payload)
    api = fields.get("api", DEFAULT_API)
    assert recorded.method == "POST"
    assert recorded.path == base_path + UPSTREAM_PATHS[api], recorded.path
    headers = recorded.headers
    extra = set(headers) - ALLOWED_UPSTREAM_HEADERS
    assert not extra, f"headers beyond the contract went upstream: {sorted(extra)}"
    assert headers["host"] == host
    assert headers["content-type"] == "application/json"
    assert headers["cf-aig-authorization"] == f"Bearer {TOKEN}"
    timeout = headers["cf-aig-request-timeout"]
    assert timeout.isdigit() and int(timeout) > 0, timeout
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    derived = {name: value for name, value in headers.items() if name in DERIVED_UPSTREAM_HEADERS}
    if "cf-aig-metadata" in derived:
        raw = derived["cf-aig-metadata"]
        assert raw.isascii() and raw.isprintable(), raw
        derived["cf-aig-metadata"] = canonical(strict_json(raw))
    expected = expected_cf_headers(payload, job)
    if job and "metadata" not in fields and "cf-aig-metadata" in derived:
        # The job name may be shortened on its way into the header; it stays a prefix.
        sent = strict_json(derived.pop("cf-aig-metadata"))
        assert set(sent) == {"scheduler_job"} and job.startswith(sent["scheduler_job"]), sent
        assert sent["scheduler_job"], sent
        expected.pop("cf-aig-metadata")
    assert derived == expected, (derived, expected)
    body = recorded.json
    assert isinstance(body, dict), body
    assert body.get("model") == fields.get("model", DEFAULT_MODEL)
    for key, value in (fields.get("extra_body") or {}).items():
        assert canonical(body.get(key)) == canonical(value), key
