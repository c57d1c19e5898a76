"""infra/README.md's Inputs and Outputs tables are exactly what infra/docs.py generates."""

from __future__ import annotations

import functools
import importlib.util
import re
from types import ModuleType

from tests.support.infra import INFRA, outputs, variables


@functools.cache
def _docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("infra_docs", INFRA / "docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_tables_match_the_variables_and_outputs() -> None:
    """Regenerating the tables changes nothing (else: run `make infra-docs`)."""
    docs = _docs()
    readme = (INFRA / "README.md").read_text()
    assert docs.updated(readme) == readme, "infra/README.md is stale: run `make infra-docs`"


def test_tables_list_every_variable_and_output_once() -> None:
    """Each declared variable and output has exactly one row, and nothing else does."""
    section = _docs().render()
    inputs, outputs_part = section.split("### Outputs")
    rows = re.findall(r"^\| `(\w+)` \|", inputs, flags=re.MULTILINE)
    assert sorted(rows) == sorted(variables())
    rows = re.findall(r"^\| `(\w+)` \|", outputs_part, flags=re.MULTILINE)
    assert sorted(rows) == sorted(outputs())


def test_stale_readme_is_detected() -> None:
    """A changed row is replaced on regeneration, so the comparison above can fail."""
    docs = _docs()
    readme = (INFRA / "README.md").read_text()
    tampered = readme.replace("| `project_id` |", "| `project_id_typo` |", 1)
    assert tampered != readme
    assert docs.updated(tampered) == readme
