"""examples/: basic passes every module input through (so whatever the docs say to set can be
set), its README shows a working terraform.tfvars per common shape, and with-cloudflare creates
an authenticated gateway whose token goes straight into the secret."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from tests.support.infra import EXAMPLE, ROOT, blocks, parse, resources_of, variables

CLOUDFLARE = ROOT / "examples" / "with-cloudflare"
DOC_PAGES = [
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "examples").glob("*/README.md")),
    ROOT / "README.md",
    ROOT / "infra" / "README.md",
]
GENERATED_TABLES = "<!-- BEGIN_TF_DOCS"
_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


def _module_call(folder: Path) -> dict[str, Any]:
    calls: list[dict[str, Any]] = [
        body for block in blocks("module", folder) for body in block.values()
    ]
    (call,) = calls
    return call


def _named_in_docs() -> dict[str, set[str]]:
    """Module inputs a doc names, as `name` in prose or as `name =` in a tfvars/HCL snippet
    (the generated Inputs table of infra/README.md left out: it lists every input)."""
    module_inputs = set(variables())
    named: dict[str, set[str]] = {}
    for page in DOC_PAGES:
        text = page.read_text()
        text = text.split(GENERATED_TABLES)[0]
        for match in re.finditer(r"`([a-z][a-z0-9_]*)`|^\s*([a-z][a-z0-9_]*)\s*=", text, re.M):
            name = match[1] or match[2]
            if name in module_inputs:
                named.setdefault(name, set()).add(page.name)
    return named


def test_docs_name_module_inputs() -> None:
    """The scan below finds what it should: the docs do tell users to set inputs."""
    named = _named_in_docs()
    assert {"bulk_input_buckets", "bulk_output_buckets", "ingress_settings"} <= set(named)
    assert {"invoker_members", "scheduler_jobs", "enable_pubsub_trigger"} <= set(named)


def test_every_input_the_docs_name_is_declared_and_passed_by_examples_basic() -> None:
    """A tfvars entry the example does not declare is only a warning, and the setting is then
    silently not applied (bulk calls fail with 403): so each named input is declared there and
    handed to the module as var.<name>."""
    declared = variables(EXAMPLE)
    call = _module_call(EXAMPLE)
    for name, pages in sorted(_named_in_docs().items()):
        assert name in declared, f"{name} (named in {sorted(pages)}) is not in examples/basic"
        assert call.get(name) == f"${{var.{name}}}", name


def test_examples_basic_matches_the_module_inputs_and_defaults() -> None:
    """Every module input is passed through, with the module's own type and default, so an
    unset example variable never overrides the module's default with something else."""
    module_inputs = variables()
    declared = variables(EXAMPLE)
    assert set(declared) == set(module_inputs)
    for name, body in module_inputs.items():
        assert declared[name]["type"] == body["type"], name
        assert declared[name].get("default", "required") == body.get("default", "required"), name
        assert declared[name]["description"] == body["description"], name
    call = _module_call(EXAMPLE)
    assert {k: v for k, v in call.items() if k != "source"} == {
        name: f"${{var.{name}}}" for name in module_inputs
    }


SHAPES = {
    "HTTP only": {"ingress_settings", "invoker_members"},
    "scheduled": {"scheduler_jobs"},
    "Pub/Sub with results": {"enable_pubsub_trigger", "enable_results_topic"},
    "bulk": {"enable_pubsub_trigger", "bulk_input_buckets", "bulk_output_buckets"},
}


def _readme_tfvars() -> list[dict[str, Any]]:
    text = (EXAMPLE / "README.md").read_text()
    snippets = re.findall(r"```hcl\n(.*?)```", text, re.S)
    return [hcl2.loads(snippet, serialization_options=_OPTIONS) for snippet in snippets]


def test_readme_shows_a_complete_tfvars_for_each_common_shape() -> None:
    """Four terraform.tfvars: HTTP only (callable from a laptop), scheduled, Pub/Sub with
    results, bulk; each sets only declared inputs and every required one."""
    tfvars = _readme_tfvars()
    assert len(tfvars) == len(SHAPES)
    declared = variables(EXAMPLE)
    required = {name for name, body in declared.items() if "default" not in body}
    for shape, keys in zip(SHAPES.values(), tfvars, strict=True):
        assert set(keys) <= set(declared), set(keys) - set(declared)
        assert required <= set(keys)
        assert shape <= set(keys), shape - set(keys)
    http, _scheduled, pubsub, bulk = tfvars
    assert http["ingress_settings"] == "ALLOW_ALL"
    assert all(m.startswith("user:") for m in http["invoker_members"])
    assert "bulk" in str(bulk["scheduler_jobs"])
    assert pubsub["enable_results_topic"] is True


def test_laptop_call_is_the_modules_curl_example() -> None:
    """The README and the module's curl_example send the gcloud user's ID token."""
    readme = (EXAMPLE / "README.md").read_text()
    assert '-H "Authorization: Bearer $(gcloud auth print-identity-token)"' in readme
    outputs = {name: body for block in blocks("output") for name, body in block.items()}
    assert "$(gcloud auth print-identity-token)" in outputs["curl_example"]["value"]
    assert "${local.prompt_url}" in outputs["curl_example"]["value"]


def test_tfvars_example_sets_only_declared_variables() -> None:
    """Each example's terraform.tfvars.example names only variables that example declares."""
    for folder in (EXAMPLE, CLOUDFLARE):
        tfvars = parse(folder / "terraform.tfvars.example")
        declared = variables(folder)
        assert set(tfvars) <= set(declared), (folder.name, set(tfvars) - set(declared))
        required = {name for name, body in declared.items() if "default" not in body}
        assert required <= set(tfvars), folder.name


def _cloudflare_resources(kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for block in blocks("resource", CLOUDFLARE):
        found.update(block.get(kind, {}))
    return found


def test_cloudflare_example_creates_an_authenticated_gateway() -> None:
    """The gateway has authentication on and sets every setting it relies on; the module gets
    its account and gateway ids from it."""
    (gateway,) = _cloudflare_resources("cloudflare_ai_gateway").values()
    assert gateway["authentication"] is True
    required = {"account_id", "id", "cache_invalidate_on_update", "cache_ttl", "collect_logs"}
    assert required | {"rate_limiting_interval", "rate_limiting_limit"} <= set(gateway)
    call = _module_call(CLOUDFLARE)
    assert call["aig_gateway_id"] == "${cloudflare_ai_gateway.this.id}"
    assert call["aig_account_id"] == "${var.cloudflare_account_id}"
    providers = {name for block in blocks("provider", CLOUDFLARE) for name in block}
    assert providers == {"google", "google-beta", "cloudflare"}
    assert "api_token" not in str(list(blocks("provider", CLOUDFLARE)))


def test_cloudflare_token_runs_the_gateway_only_and_goes_write_only_into_the_secret() -> None:
    """One permission group (the Run permission, looked up by name), the account as the only
    resource; the token reaches Secret Manager through the write-only argument."""
    (token,) = _cloudflare_resources("cloudflare_account_token").values()
    (policy,) = token["policies"]
    assert policy["effect"] == "allow"
    assert policy["permission_groups"] == "${[for id in local.run_permission_ids : {id = id}]}"
    assert "com.cloudflare.api.account.${var.cloudflare_account_id}" in policy["resources"]
    (version,) = _cloudflare_resources("google_secret_manager_secret_version").values()
    assert version["secret_data_wo"] == "${cloudflare_account_token.gateway[0].value}"
    assert "secret_data" not in version
    assert 'module.prompt.secret_ids["aig_token"]' in version["secret"]
    readme = (CLOUDFLARE / "README.md").read_text()
    for needle in ("Terraform state", "create_gateway_token = false", "secret_data_wo"):
        assert needle in readme


@pytest.mark.parametrize("folder", [EXAMPLE, CLOUDFLARE], ids=lambda p: p.name)
def test_example_folders_parse(folder: Path) -> None:
    """Every .tf file of each example is valid HCL2."""
    files = sorted(folder.glob("*.tf"))
    assert {"main.tf", "variables.tf", "versions.tf", "providers.tf"} <= {p.name for p in files}
    for path in files:
        assert isinstance(parse(path), dict)
    assert resources_of("google_secret_manager_secret_version") == {}
