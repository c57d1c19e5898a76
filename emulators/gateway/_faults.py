"""Fault scripts: what the gateway emulator does on the i-th attempt of a request.

A script is a comma-separated list of steps, e.g. ``"429@ra=2,500@xsr=false,ok"``. A step is a
name with optional ``@key=value`` suffixes. Attempt i (0-based) performs step ``min(i, len-1)``,
so the last step repeats for ever.

Gateway signals are suffixes too: ``@step=N``, ``@model=M``, ``@provider=P`` answer with
``cf-aig-step`` / ``cf-aig-model`` / ``cf-aig-provider`` (a dynamic route or a fallback answered);
``@dlp=flag`` with a ``cf-aig-dlp`` JSON verdict (action FLAG), ``@dlp=text`` with one that is not
JSON. The block steps ``gw2016 gw2017`` (guardrails, 424) and ``gw2029 gw2030`` (DLP) carry a BLOCK
verdict in ``cf-aig-dlp`` when DLP blocked; ``gw7013`` is the scanner being unavailable (503),
``gw2021`` out of credits (402). ``budget`` is a spend limit's 429 ("Spending limit exceeded"),
``policy`` a policy's 403 ("Access denied by policy"), ``flex429`` flex processing without
capacity (429 "Resource Unavailable").
"""

from __future__ import annotations

import email.utils
import functools
import re
from dataclasses import dataclass

from emulators.gateway import _errors
from emulators.gateway._controls import dlp_header
from emulators.gateway._errors import JsonObject

# Steps that answer with an error body: name -> (HTTP status, body).
STATUS_STEPS: dict[str, tuple[int, JsonObject]] = {
    "400": (400, _errors.BAD_REQUEST),
    "401": (401, _errors.invalid_api_key("not-a-real-key-but-should-be-sanitized")),
    "403": (403, _errors.FORBIDDEN),
    "404": (404, _errors.NOT_FOUND),
    "422": (422, _errors.UNPROCESSABLE),
    "429": (429, _errors.RATE_LIMITED),
    "429q": (429, _errors.INSUFFICIENT_QUOTA),
    "500": (500, _errors.SERVER_ERROR),
    "502": (502, _errors.SERVER_ERROR),
    "503": (503, _errors.SERVER_ERROR),
    "gw401": (401, _errors.GATEWAY_UNAUTHORIZED),
    "gw429": (429, _errors.GATEWAY_RATE_LIMITED),
    "gw2016": (424, _errors.GUARDRAIL_PROMPT_BLOCKED),
    "gw2017": (424, _errors.GUARDRAIL_RESPONSE_BLOCKED),
    "gw2029": (400, _errors.DLP_PROMPT_BLOCKED),
    "gw2030": (400, _errors.DLP_RESPONSE_BLOCKED),
    "gw7013": (503, _errors.SCANNER_UNAVAILABLE),
    "gw2021": (402, _errors.SCANNER_OUT_OF_CREDITS),
    "budget": (429, _errors.GATEWAY_SPEND_LIMIT),
    "policy": (403, _errors.GATEWAY_POLICY_DENIED),
    "flex429": (429, _errors.FLEX_UNAVAILABLE),
}
# DLP blocks say what matched, as the gateway does, in cf-aig-dlp.
_DLP_BLOCKS = {"gw2029": "REQUEST", "gw2030": "RESPONSE"}
_DLP_SUFFIX_VALUES = ("flag", "text")
# Suffix values end at the next "@" or ",": names with those characters cannot be scripted.
_NAME_VALUE = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
# Steps that act on the connection or answer 200 (see the gateway module for each one).
ACTION_STEPS = frozenset({"ok", "drop", "stall", "notjson", "badjson", "trickle", "midstream"})


class FaultScriptError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    retry_after: int | None = None  # @ra=N: Retry-After: N
    retry_after_ms: int | None = None  # @ram=N: retry-after-ms: N
    retry_after_date: int | None = None  # @date=N: Retry-After as an HTTP date N s ahead
    should_retry: bool | None = None  # @xsr=true|false: x-should-retry
    route_step: int | None = None  # @step=N: cf-aig-step: N
    model: str | None = None  # @model=M: cf-aig-model: M
    provider: str | None = None  # @provider=P: cf-aig-provider: P
    dlp: str | None = None  # @dlp=flag|text: cf-aig-dlp

    def headers(self, now: float) -> list[tuple[str, str]]:
        """Extra response headers this step asks for; ``now`` is the wall clock (for @date)."""
        headers: list[tuple[str, str]] = []
        if self.retry_after is not None:
            headers.append(("retry-after", str(self.retry_after)))
        if self.retry_after_date is not None:
            date = email.utils.formatdate(now + self.retry_after_date, usegmt=True)
            headers.append(("retry-after", date))
        if self.retry_after_ms is not None:
            headers.append(("retry-after-ms", str(self.retry_after_ms)))
        if self.should_retry is not None:
            headers.append(("x-should-retry", "true" if self.should_retry else "false"))
        if self.route_step is not None:
            headers.append(("cf-aig-step", str(self.route_step)))
        if self.model is not None:
            headers.append(("cf-aig-model", self.model))
        if self.provider is not None:
            headers.append(("cf-aig-provider", self.provider))
        if self.name in _DLP_BLOCKS:
            headers.append(("cf-aig-dlp", dlp_header("BLOCK", _DLP_BLOCKS[self.name])))
        elif self.dlp == "flag":
            headers.append(("cf-aig-dlp", dlp_header("FLAG", "REQUEST")))
        elif self.dlp == "text":
            headers.append(("cf-aig-dlp", "flagged (not JSON)"))
        return headers


@functools.lru_cache(maxsize=1024)
def parse_script(script: str) -> tuple[Step, ...]:
    return tuple(_parse_step(part.strip()) for part in script.split(","))


def step_for(steps: tuple[Step, ...], attempt: int) -> Step:
    return steps[min(attempt, len(steps) - 1)]


def _parse_step(text: str) -> Step:
    name, *suffixes = text.split("@")
    if name not in STATUS_STEPS and name not in ACTION_STEPS:
        raise FaultScriptError(f"unknown fault step {name!r}")
    numbers: dict[str, int] = {}
    names: dict[str, str] = {}
    should_retry: bool | None = None
    for suffix in suffixes:
        key, sep, value = suffix.partition("=")
        if not sep:
            raise FaultScriptError(f"fault suffix {suffix!r} is not key=value")
        if key == "xsr":
            if value not in ("true", "false"):
                raise FaultScriptError(f"@xsr takes true or false, not {value!r}")
            should_retry = value == "true"
        elif key in ("model", "provider"):
            if not _NAME_VALUE.fullmatch(value):
                raise FaultScriptError(f"@{key} takes a name, not {value!r}")
            names[key] = value
        elif key == "dlp":
            if value not in _DLP_SUFFIX_VALUES:
                raise FaultScriptError(f"@dlp takes flag or text, not {value!r}")
            names[key] = value
        elif key in ("ra", "ram", "date", "step"):
            if not value.isdigit():
                raise FaultScriptError(f"@{key} takes a whole number, not {value!r}")
            numbers[key] = int(value)
        else:
            raise FaultScriptError(f"unknown fault suffix @{key}")
    return Step(
        name,
        retry_after=numbers.get("ra"),
        retry_after_ms=numbers.get("ram"),
        retry_after_date=numbers.get("date"),
        should_retry=should_retry,
        route_step=numbers.get("step"),
        model=names.get("model"),
        provider=names.get("provider"),
        dlp=names.get("dlp"),
    )
