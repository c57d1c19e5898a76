"""The module's sizing and range checks, evaluated from their HCL text.

The CPU/memory rule and every numeric validation are run through `tests.support.infra.evaluate`, so
the tables below test the conditions Terraform itself evaluates; the ranges are compared with
what the function accepts (relay.settings) by feeding the same values to Settings.from_env.
"""

from __future__ import annotations

import re

import pytest

from relay import ConfigError
from relay.settings import Settings
from tests.support.infra import (
    conditions,
    evaluate,
    hcl_string_literals,
    locals_,
    one,
    resources_of,
)

_UNIT = re.compile(r"(\w+) = ([0-9 /]+?)(?=,|\})")


def _memory_mib(memory: str) -> float:
    """available_memory in MiB, through the module's own regex and unit table."""
    expression = locals_()["memory_mib"]
    (pattern,) = hcl_string_literals(locals_()["memory_parts"])
    match = re.fullmatch(pattern, memory)
    assert match is not None, memory
    units = {unit: evaluate(value, {}) for unit, value in _UNIT.findall(expression)}
    assert set(units) == {"Mi", "Gi", "M", "G"}
    return float(match[1]) * float(units[match[2]])


def _pair_ok(cpu: str, memory: str) -> bool:
    names = {"local.cpu": float(cpu), "local.memory_mib": _memory_mib(memory)}
    return bool(evaluate(locals_()["cpu_memory_ok"], names))


ACCEPTED = [
    ("0.08", "128Mi"),
    ("0.083", "256Mi"),
    ("0.167", "512Mi"),
    ("0.5", "1Gi"),
    ("1", "512Mi"),
    ("1", "4Gi"),
    ("2", "8Gi"),
    ("4", "2Gi"),
    ("4", "16Gi"),
    ("6", "4Gi"),
    ("6", "24Gi"),
    ("8", "4Gi"),
    ("8", "32Gi"),
    ("1", "1000M"),
    ("2", "5G"),
]
REFUSED = [
    ("0.05", "128Mi"),  # below the 0.08 vCPU minimum
    ("9", "32Gi"),  # above 8 vCPU
    ("1.5", "2Gi"),  # above 1 vCPU must be whole
    ("0.4", "513Mi"),  # more than 512 MiB needs 0.5 vCPU
    ("0.5", "1025Mi"),  # more than 1 GiB needs 1 vCPU
    ("4", "1Gi"),  # 4 vCPU needs 2 GiB
    ("6", "2Gi"),  # 6 vCPU needs 4 GiB
    ("8", "3Gi"),  # 8 vCPU needs 4 GiB
    ("1", "5Gi"),  # more than 4 GiB needs 2 vCPU
    ("2", "9Gi"),  # more than 8 GiB needs 4 vCPU
    ("4", "17Gi"),  # more than 16 GiB needs 6 vCPU
    ("6", "25Gi"),  # more than 24 GiB needs 8 vCPU
    ("8", "33Gi"),  # at most 32 GiB
    ("1", "100Mi"),  # at least 128 MiB
    ("1", "5G"),  # 5 GB is more than 4 GiB
]


@pytest.mark.parametrize(("cpu", "memory"), ACCEPTED)
def test_cloud_run_accepts_these_cpu_memory_pairs(cpu: str, memory: str) -> None:
    """Pairs Cloud Run allows pass the module's condition."""
    assert _pair_ok(cpu, memory)


@pytest.mark.parametrize(("cpu", "memory"), REFUSED)
def test_cloud_run_refuses_these_cpu_memory_pairs(cpu: str, memory: str) -> None:
    """Pairs Cloud Run refuses fail the module's condition at plan time."""
    assert not _pair_ok(cpu, memory)


def test_refused_pair_fails_the_plan_with_the_rule_in_the_message() -> None:
    """The function's precondition uses the condition and states every rule in its message."""
    function = resources_of("google_cloudfunctions2_function")["this"]
    preconditions = one(function, "lifecycle")["precondition"]
    (check,) = [p for p in preconditions if p["condition"] == "${local.cpu_memory_ok}"]
    assert check["error_message"] == "${local.cpu_memory_rule}"
    rule = locals_()["cpu_memory_rule"]
    for phrase in (
        "whole above 1",
        "more than 512 MiB needs at least 0.5",
        "more than 1 GiB needs 1",
        "4 vCPU needs at least 2 GiB",
        "6 or 8 vCPU at least 4 GiB",
        "more than 4 GiB needs 2 vCPU",
    ):
        assert phrase in rule, phrase


def test_evaluator_refuses_what_it_cannot_read() -> None:
    """An expression outside the subset is an error, never a silent misreading."""
    for expression in ('${var.x == "a"}', "${!var.x}", "${length(var.x) > 1}", "${a ? 1 : 2}"):
        with pytest.raises((ValueError, KeyError)):
            evaluate(expression, {"var.x": 1})
    assert evaluate("${var.x >= 1 && floor(var.x) == var.x}", {"var.x": 2}) is True
    assert evaluate("${var.x >= 1 && floor(var.x) == var.x}", {"var.x": 2.5}) is False


# Module variable -> the environment setting it becomes (locals.function_env).
RANGED = {
    "secret_cache_ttl_seconds": "SECRET_CACHE_TTL_SECONDS",
    "upstream_timeout_seconds": "UPSTREAM_TIMEOUT_SECONDS",
    "max_retries": "MAX_RETRIES",
    "max_body_bytes": "MAX_BODY_BYTES",
    "batch_max_items": "BATCH_MAX_ITEMS",
    "batch_concurrency": "BATCH_CONCURRENCY",
}


def _module_accepts(variable: str, value: float) -> bool:
    (condition,) = conditions(variable)
    return bool(evaluate(condition, {f"var.{variable}": value}))


def _function_accepts(setting: str, value: float) -> bool:
    # What Terraform's tostring() writes: no ".0" on whole numbers.
    text = str(int(value)) if value == int(value) else repr(value)
    env = {"AIG_TOKEN": "t", "AIG_BASE_URL": "http://127.0.0.1:9/openai", setting: text}
    try:
        Settings.from_env(env)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("variable", sorted(RANGED))
def test_module_ranges_equal_what_the_function_accepts(variable: str) -> None:
    """Around every bound the module names, the module and the function agree value by value."""
    setting = RANGED[variable]
    assert re.search(rf"\b{setting} = tostring\(var\.{variable}\)", locals_()["function_env"])
    (condition,) = conditions(variable)
    bounds = {float(n) for n in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])", condition)}
    assert len(bounds) >= 2, condition
    probes = {p for b in bounds for p in (b - 1, b - 0.05, b, b + 0.05, b + 1, b + 0.5)}
    for value in sorted(p for p in probes if p >= -1):
        assert _module_accepts(variable, value) == _function_accepts(setting, value), value
