"""The docs name only what exists, and the README stays short and lists every module.

(Links and anchors: test_doc_links.py.)

Names in backticks, in README.md and docs/*.md (inline code in prose and tables; fenced blocks
only for `python -m module` and `make target`):
- a path under one of the project's folders (`relay/x.py`, `emulators/`, `tests/test_*.py`,
  `infra/*.tf`, `docs/x.md`), or `main.py`, `Makefile`, `openapi.yaml`, must exist (a glob must
  match something);
- a dotted module name starting with a product package (`relay.x`, `emulators.gateway`) must be
  a module or package, and whatever follows the module must be a name defined in it;
- `make target` must be a target of the Makefile;
- a code identifier must be defined somewhere in the project's Python (a class, a function, an
  assigned name or attribute, or a module's file name). What counts as a code identifier is
  chosen so that contract fields, JSON keys and environment variables are never caught: a
  Python-identifier token, optionally dotted, optionally ending in `()` or `(...)`, that has a
  segment starting with `_` (`_upstream_headers`, `Relay._internal`), or starts with a CamelCase
  word (`Settings`, `GatewayClient.send`), or ends in `()` (`free_port()`). Dotted names whose
  first segment is a lower-case name that is not a product package (`httpx.MockTransport`,
  `message.data`, `usage.input_tokens`) are someone else's, and are not checked; neither are
  the names in EXTERNAL (other projects' types and wire names). Every segment of a checked name
  must be defined somewhere.

The README is under 250 lines, and its Layout section names every package and module of the
product: main.py, and every module under relay/, handlers/, emulators/, bench/ and tools/ (a
package's `__init__` and `__main__` are named by the package's folder).
"""

from __future__ import annotations

import ast
import builtins
import fnmatch
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

README_MAX_LINES = 250
_FENCE = re.compile(r"^\s*(```|~~~)")


def test_readme_stays_short() -> None:
    """The README is the front door, under 250 lines; the deep parts live in docs/."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES


# ---- names in backticks -------------------------------------------------------------------------

# The folders whose paths a doc may name, and the Python packages among them.
PROJECT_DIRS = ("relay", "handlers", "emulators", "bench", "tests", "tools", "infra", "examples")
PACKAGES = ("relay", "handlers", "emulators", "bench", "tests", "tools")
PROJECT_FILES = ("main.py", "Makefile", "openapi.yaml", "README.md", "pyproject.toml")
# Where the project's own Python lives (what a code identifier must be defined in).
PYTHON_ROOTS = ("main.py", *PACKAGES)
# Names from other projects (OpenAI, Cloudflare, Google, the standard library) that docs quote.
EXTERNAL = frozenset(
    {
        # HTTP headers and schemes
        "Allow",
        "Authorization",
        "Bearer",
        # Google: Pub/Sub attributes, the Secret Manager method the emulator implements
        "AccessSecretVersion",
        "CloudPubSubDeadLetterSourceDeliveryCount",
        "SourceSubscription",
        # Cloudflare, OpenAI, openai-python, aiohttp, httpx, OpenTelemetry, functions-framework,
        # gunicorn, a generated client
        "AiGatewayError",
        "AiohttpTransport",
        "AuthenticatedClient",
        "BatchSpanProcessor",
        "ChatCompletionMessageParam",
        "ClientConnectionError",
        "DefaultAioHttpClient",
        "Logger",
        "MockTransport",
        "ResponseInputItemParam",
        "SensitiveHeadersFilter",
        "UvicornApplication",
    }
)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_IDENT = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\((?:\.\.\.)?\))?$")
_CAMEL = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$")
_PATH = re.compile(r"^(?:" + "|".join(PROJECT_DIRS) + r"|docs)/[\w./*{}-]*$")
_MODULE = re.compile(r"^(?:" + "|".join(PACKAGES) + r")(?:\.\w+)+$")
_FILE_NAME = re.compile(r"\.(?:json|jsonl|md|py|tf|txt|yaml|toml)$")
_RUN_MODULE = re.compile(r"python3? -m ([\w.]+)")
_MAKE = re.compile(r"\bmake ([a-z][\w-]*)")


def named_documents() -> list[Path]:
    """The docs whose backticked names are checked: README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def code_spans(text: str) -> Iterator[str]:
    """The inline code of the prose, and `-m module` / `make target` from fenced blocks."""
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            yield from (f"make {target}" for target in _MAKE.findall(line))
            yield from _RUN_MODULE.findall(line)
        else:
            yield from (span.strip() for span in _CODE_SPAN.findall(line))


def _sources(folder: Path) -> list[Path]:
    """The project's .py files under `folder`: not those of a virtualenv or other hidden folder
    inside it (`make bench` builds bench/.venv-prod)."""
    return sorted(
        path
        for path in folder.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


@cache
def defined_names(root: Path = ROOT) -> frozenset[str]:
    """Every class, function, argument, assigned name or attribute, module name and string
    literal in the project's Python, and Python's builtins."""
    names: set[str] = set(dir(builtins)).union(dir(str), dir(bytes), dir(dict), dir(list))
    files: list[Path] = []
    for entry in PYTHON_ROOTS:
        path = root / entry
        files += [path] if path.is_file() else _sources(path)
    for path in files:
        names.add(path.stem)
        names.update(path.relative_to(root).parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
                names.update(arg.arg for arg in node.args.args + node.args.kwonlyargs)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    return frozenset(names)


def make_targets(root: Path = ROOT) -> set[str]:
    """The Makefile's targets."""
    text = (root / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([\w.-]+)\s*:(?!=)", text, flags=re.MULTILINE))


def is_code_identifier(token: str) -> bool:
    """Whether a backticked token is a name of ours to check (see the module docstring)."""
    if not _IDENT.match(token) or _FILE_NAME.search(token):
        return False
    segments = token.split("(")[0].split(".")
    head = segments[0]
    if head in EXTERNAL:
        return False
    if len(segments) > 1 and not head.startswith("_") and not _CAMEL.match(head):
        return False  # a lower-case head: another library's module, or a JSON key path
    private = any(s.startswith("_") and not s.startswith("__") for s in segments)
    return token.endswith(")") or private or bool(_CAMEL.match(head))


def module_exists(dotted: str, root: Path = ROOT) -> bool:
    """`relay.x` is a module or package, and a name after the module is defined in the code
    (or the whole is a string the code uses, such as a span attribute `relay.cost_usd`)."""
    if dotted in defined_names(root):
        return True
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:cut])
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return all(name in defined_names(root) for name in parts[cut:])
    return False


def ignored(token: str, root: Path = ROOT) -> bool:
    """Whether a path is one the project makes at run time and git ignores (bench/results/...)."""
    patterns = (root / ".gitignore").read_text(encoding="utf-8").split()
    parts = Path(token).parts
    for pattern in (p.rstrip("/") for p in patterns if not p.startswith("#")):
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:i]), pattern) or fnmatch.fnmatch(
                parts[i - 1], pattern
            ):
                return True
    return False


def path_exists(token: str, root: Path = ROOT) -> bool:
    """A project path (a glob matches at least one file; a trailing `/` is a folder)."""
    token = token.split("#")[0].rstrip(":")
    if any(ch in token for ch in "*{"):
        return any(root.glob(token.replace("{", "*").replace("}", "")))
    return (root / token).exists() or ignored(token, root)


def unknown_names(text: str, root: Path = ROOT) -> list[str]:
    """The backticked paths, modules, make targets and code identifiers that do not exist."""
    problems = []
    targets = make_targets(root)
    for span in code_spans(text):
        make = re.fullmatch(r"make ([a-z][\w-]*)(?: .*)?", span)
        if make:
            if make.group(1) not in targets:
                problems.append(f"make {make.group(1)}: no such Makefile target")
            continue
        # A path or module may sit inside a longer span (`relay/_x.py: name`, `-m relay.x`).
        for token in (word.strip(".,;:()") for word in span.split()):
            if _PATH.match(token) or token in PROJECT_FILES:
                if not path_exists(token, root):
                    problems.append(f"{token}: no such path")
            elif _MODULE.match(token) and not module_exists(token, root):
                problems.append(f"{token}: no such module or name")
        if is_code_identifier(span):
            missing = [s for s in span.split("(")[0].split(".") if s not in defined_names(root)]
            if missing:
                problems.append(f"{span}: {', '.join(missing)} defined nowhere in the code")
    return sorted(set(problems))


@pytest.mark.parametrize("document", named_documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_name_in_backticks_exists(document: Path) -> None:
    """A module, path, make target or code identifier a doc names that is gone fails here."""
    assert unknown_names(document.read_text(encoding="utf-8")) == []


def test_the_name_check_can_fail() -> None:
    """Gone names are caught; contract fields, env vars and other projects' names are not."""
    text = (
        "`Relay._internal` `_upstream_headers` `relay/_nowhere.py` `relay._nowhere`\n"
        "`NoSuchClass.no_such_method` `no_such_function()` `make no-such-target`\n"
        "`output_text` `MAX_RETRIES` `usage.input_tokens` `httpx.MockTransport` `AiGatewayError`\n"
        "`relay/retry.py` `relay.retry` `Relay` `make test` `tests/unit/test_*.py`\n"
        "```sh\npython -m emulators.nowhere\nmake run\n```\n"
    )
    assert unknown_names(text) == [
        "NoSuchClass.no_such_method: NoSuchClass, no_such_method defined nowhere in the code",
        "Relay._internal: _internal defined nowhere in the code",
        "_upstream_headers: _upstream_headers defined nowhere in the code",
        "emulators.nowhere: no such module or name",
        "make no-such-target: no such Makefile target",
        "no_such_function(): no_such_function defined nowhere in the code",
        "relay._nowhere: no such module or name",
        "relay/_nowhere.py: no such path",
    ]


# ---- the README's Layout ------------------------------------------------------------------------

LAYOUT_PACKAGES = ("relay", "handlers", "emulators", "bench", "tools")


def layout_section(text: str) -> str:
    """The README's Layout section, up to the next section."""
    return text.split("\n## Layout", 1)[1].split("\n## ", 1)[0]


def product_modules(root: Path = ROOT) -> list[str]:
    """main.py, every package folder and every module (by file name) the Layout must name."""
    names = ["main.py"]
    for package in LAYOUT_PACKAGES:
        for path in _sources(root / package):
            relative = path.relative_to(root)
            for folder in relative.parts[1:-1]:
                names.append(f"{folder}/")
            if path.stem not in ("__init__", "__main__"):
                names.append(path.name)
    return list(dict.fromkeys(names))


def missing_from_layout(text: str, root: Path = ROOT) -> list[str]:
    """The modules and package folders the Layout does not name (`x.py` or bare `x` counts)."""
    layout = layout_section(text)
    missing = []
    for name in product_modules(root):
        stem = name.removesuffix(".py").removesuffix("/")
        suffix = "/" if name.endswith("/") else r"(?:\.py)?"
        if not re.search(rf"(?<![\w.]){re.escape(stem)}{suffix}(?![\w])", layout):
            missing.append(name)
    return missing


def test_readme_layout_names_every_module() -> None:
    """A module added, moved or renamed without a line in the README's Layout fails here."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert missing_from_layout(text) == []


def test_layout_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "relay" / "bulk").mkdir(parents=True)
    for name in ("relay/__init__.py", "relay/_a.py", "relay/bulk/__init__.py", "relay/bulk/_b.py"):
        (tmp_path / name).write_text("", encoding="utf-8")
    for package in LAYOUT_PACKAGES[1:]:
        (tmp_path / package).mkdir()
    text = "# X\n\n## Layout\n\n```\nmain.py\nrelay/ _a.py\n```\n\n## More\n_b.py bulk/\n"
    assert missing_from_layout(text, root=tmp_path) == ["bulk/", "_b.py"]
