"""The project's Markdown holds together: every relative link resolves, inside the repository.

A link's file must exist and, where it names an `#anchor`, the anchor must be a heading of that
file (GitHub's slug of it). The README's Contents list names its sections, in order. (That every
name a doc quotes exists, and the README's size and Layout: test_docs.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`[^`]*`")


def documents() -> list[Path]:
    """The Markdown the project links together: README, docs/, bench/RESULTS.md, infra/."""
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    paths += [
        p for p in (ROOT / "bench" / "RESULTS.md", ROOT / "infra" / "README.md") if p.exists()
    ]
    return paths


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of every heading outside code blocks."""
    found = []
    for line in prose_lines(text):
        match = _HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def anchors(text: str) -> set[str]:
    """Every heading anchor of a document; a repeated slug gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for _, title in headings(text):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def anchors_of(path: Path) -> set[str]:
    """The heading anchors of a Markdown file."""
    return anchors(path.read_text(encoding="utf-8"))


def links(text: str) -> list[str]:
    """Every link target in the prose (not in code blocks or inline code)."""
    targets = []
    for line in prose_lines(text):
        targets += _LINK.findall(_INLINE_CODE.sub("", line))
    return targets


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """The relative links of `document` that do not resolve, each with the reason."""
    problems = []
    for target in links(document.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ... not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.is_relative_to(root.resolve()):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors_of(resolved):
            problems.append(f"{target}: no heading with the anchor #{anchor}")
    return problems


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    """A link to a file that moved, or to a heading that was renamed, fails here."""
    assert broken_links(document) == []


def test_readme_contents_lists_its_sections() -> None:
    """The Contents list names every section of the README, in order, and nothing else."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = [slug(title) for level, title in headings(text) if level == 2]
    assert "contents" in sections
    body = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \[[^\]]+\]\(#([^)]+)\)", body, flags=re.MULTILINE)
    assert listed == [s for s in sections if s != "contents"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The contract in brief", "the-contract-in-brief"),
        ("Reliability: faults, hostile input, soak", "reliability-faults-hostile-input-soak"),
        ("Scheduler and Pub/Sub", "scheduler-and-pubsub"),
        (
            '7. Streaming (`"stream": true`), sequential, ms',
            "7-streaming-stream-true-sequential-ms",
        ),
        (
            "Publish a Pub/Sub test message (`enable_pubsub_trigger = true`)",
            "publish-a-pubsub-test-message-enable_pubsub_trigger--true",
        ),
    ],
)
def test_slug_matches_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_checker_reports_each_kind_of_broken_link(tmp_path: Path) -> None:
    """The checker itself can fail: a missing file, a missing anchor, a path outside the tree."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Real part\n", encoding="utf-8")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md#real-part) [self](#page) [web](https://example.com/x.md)\n"
        "[gone](missing.md) [bad anchor](other.md#no-such-part) [out](../../outside.md)\n"
        "```\n[in code](nowhere.md)\n```\n"
        "`[inline](nowhere.md)`\n",
        encoding="utf-8",
    )
    assert broken_links(page, root=tmp_path) == [
        "missing.md: no such file",
        "other.md#no-such-part: no heading with the anchor #no-such-part",
        "../../outside.md: outside the repository",
    ]


def test_repeated_headings_get_numbered_anchors() -> None:
    assert anchors("# A\n## Notes\n## Notes\n```\n## Not a heading\n```\n") == {
        "a",
        "notes",
        "notes-1",
    }
