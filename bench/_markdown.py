"""Markdown table cells for the report: numbers, ratios, verdicts, and the tables themselves."""

from __future__ import annotations

import math

__all__ = ["cell", "ratio", "table", "verdict"]


def cell(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def ratio(value: float, base: float) -> str:
    if not base or math.isnan(value) or math.isnan(base):
        return "-"
    return f"{value / base:.2f}x"


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("**met**" if met else "**not met**")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
