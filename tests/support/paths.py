"""Where the tests find fixtures: the project's own copy, and ../shared when it is present."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "openai"
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures" / "openai"


def fixture_dirs() -> list[Path]:
    """The project's fixtures, plus the shared ones when this checkout sits beside them."""
    dirs = [FIXTURES]
    if SHARED_FIXTURES.is_dir():
        dirs.append(SHARED_FIXTURES)
    return dirs
