"""Read the Terraform module in infra/ with python-hcl2, and evaluate its simple expressions.

`evaluate` runs the arithmetic-and-logic subset of HCL the module's validations use, so a test
can feed values through the very condition text Terraform evaluates instead of a copy of it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
EXAMPLE = ROOT / "examples" / "basic"

_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = hcl2.loads(path.read_text(), serialization_options=_OPTIONS)
    return parsed


def tf_files(folder: Path = INFRA) -> list[Path]:
    return sorted(folder.glob("*.tf"))


def blocks(kind: str, folder: Path = INFRA) -> Iterator[dict[str, Any]]:
    """Every top-level block of one kind (resource, variable, locals...) in a folder."""
    for path in tf_files(folder):
        yield from parse(path).get(kind, [])


def resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in blocks("resource"):
        for rtype, named in block.items():
            for name, body in named.items():
                found[(rtype, name)] = body
    return found


def resources_of(rtype: str) -> dict[str, dict[str, Any]]:
    return {name: body for (kind, name), body in resources().items() if kind == rtype}


def variables(folder: Path = INFRA) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in blocks("variable", folder):
        found.update(block)
    return found


def outputs(folder: Path = INFRA) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in blocks("output", folder):
        found.update(block)
    return found


def locals_() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for block in blocks("locals"):
        found.update(block)
    return found


def one(body: dict[str, Any], *path: str) -> dict[str, Any]:
    """Descend through nested single blocks, e.g. build_config > source > storage_source."""
    for key in path:
        items = body[key]
        assert isinstance(items, list) and len(items) == 1, f"expected one {key} block"
        body = items[0]
    return body


def conditions(variable: str) -> list[str]:
    """The validation conditions of one variable, in order."""
    return [item["condition"] for item in variables()[variable].get("validation", [])]


def walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """Yield (key, value) for every entry of a parsed structure, keys included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield None, item
            yield from walk(item)


def hcl_string_literals(expression: str) -> list[str]:
    """The decoded "..." literals inside an HCL expression (HCL escapes are JSON's)."""
    return [json.loads(f'"{raw}"') for raw in re.findall(r'"((?:[^"\\]|\\.)*)"', expression)]


# The subset: numbers, var./local. references, floor(), arithmetic, comparison, && and ||.
# Anything else (a function call, `!`, a ternary, a string) is refused, so the evaluator can
# never quietly read an expression differently from Terraform.
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<ref>(?:var|local)\.[a-z_][a-z0-9_]*)"
    r"|(?P<fn>floor)\(|(?P<op>&&|\|\||==|!=|<=|>=|[<>()*/+-]))"
)
_PYTHON_OP = {"&&": " and ", "||": " or "}


def evaluate(expression: str, names: Mapping[str, float]) -> Any:
    """Evaluate an HCL expression of the subset above, with `names` for its references."""
    text = expression.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    python: list[str] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"unsupported HCL at {text[position : position + 30]!r}")
        position = match.end()
        if match["num"]:
            python.append(match["num"])
        elif match["ref"]:
            if match["ref"] not in names:
                raise KeyError(match["ref"])
            python.append(f"_names[{match['ref']!r}]")
        elif match["fn"]:
            python.append("_floor(")
        else:
            python.append(_PYTHON_OP.get(match["op"], match["op"]))
    code = "".join(python)
    scope = {"__builtins__": {}, "_names": dict(names), "_floor": math.floor}
    # Safe: `code` is rebuilt only from the whitelisted tokens above, with no builtins.
    return eval(code, scope)
