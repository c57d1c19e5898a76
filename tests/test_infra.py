"""Static checks of the Terraform deployment in infra/, read with python-hcl2 (no terraform binary).

These pin the security and wiring properties the module promises: secrets never in state,
IAM bound per resource, no public principals, authenticated Scheduler calls, and every setting
the function reads actually set.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

INFRA = Path(__file__).resolve().parent.parent / "infra"

# Every setting the function reads from its environment (CONTRACT.md), by delivery mode.
PLAIN_ENV = (
    "AIG_ACCOUNT_ID",
    "AIG_GATEWAY_ID",
    "GOOGLE_CLOUD_PROJECT",
    "SECRET_CACHE_TTL_SECONDS",
    "DEFAULT_API",
    "DEFAULT_MODEL",
    "ALLOWED_MODELS",
    "UPSTREAM_TIMEOUT_SECONDS",
    "MAX_RETRIES",
    "MAX_BODY_BYTES",
    "LOG_PROMPTS",
)
RUNTIME_SECRET_ENV = ("AIG_TOKEN_SECRET", "OPENAI_API_KEY_SECRET")
PLATFORM_SECRET_ENV = ("AIG_TOKEN", "OPENAI_API_KEY")

PUBLIC_PRINCIPALS = ("allUsers", "allAuthenticatedUsers")

_OPTIONS = SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)


@functools.cache
def _parse(path: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = hcl2.loads(path.read_text(), serialization_options=_OPTIONS)
    return parsed


def _tf_files() -> list[Path]:
    return sorted(INFRA.glob("*.tf"))


def _blocks(kind: str) -> Iterator[dict[str, Any]]:
    """Yield every top-level block of one kind (resource, variable, locals...) in the module."""
    for path in _tf_files():
        yield from _parse(path).get(kind, [])


def _resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in _blocks("resource"):
        for rtype, named in block.items():
            for name, body in named.items():
                found[(rtype, name)] = body
    return found


def _resources_of(rtype: str) -> dict[str, dict[str, Any]]:
    return {name: body for (kind, name), body in _resources().items() if kind == rtype}


def _variables() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in _blocks("variable"):
        found.update(block)
    return found


def _locals() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for block in _blocks("locals"):
        found.update(block)
    return found


def _one(body: dict[str, Any], *path: str) -> dict[str, Any]:
    """Descend through nested single blocks, e.g. build_config > source > storage_source."""
    for key in path:
        items = body[key]
        assert isinstance(items, list) and len(items) == 1, f"expected one {key} block"
        body = items[0]
    return body


def _walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """Yield (key, value) for every entry of a parsed structure, keys included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield None, item
            yield from _walk(item)


def _hcl_string_literals(expression: str) -> list[str]:
    """The decoded "..." literals inside an HCL expression (HCL escapes are JSON's)."""
    return [json.loads(f'"{raw}"') for raw in re.findall(r'"((?:[^"\\]|\\.)*)"', expression)]


def test_every_tf_file_parses() -> None:
    """Every .tf file in infra/ is valid HCL2 and the module has its conventional files."""
    names = {path.name for path in _tf_files()}
    assert {"versions.tf", "main.tf", "variables.tf", "outputs.tf"} <= names
    for path in _tf_files():
        assert isinstance(_parse(path), dict), path.name


def test_no_project_level_iam() -> None:
    """No project-, folder- or organization-level IAM resource exists anywhere in the module."""
    broad = [
        rtype
        for rtype, _ in _resources()
        if re.match(r"google_(project|folder|organization)_iam_", rtype)
    ]
    assert broad == []


def test_secret_access_is_bound_per_secret_to_the_runtime_identity() -> None:
    """secretAccessor is granted on each created secret, to the runtime service account only."""
    bindings = _resources_of("google_secret_manager_secret_iam_member")
    assert bindings, "the runtime identity needs access to its secrets"
    secrets = _resources_of("google_secret_manager_secret")
    assert set(secrets) == {"this"}
    for body in bindings.values():
        assert body["role"] == "roles/secretmanager.secretAccessor"
        assert "google_secret_manager_secret.this[each.key]" in body["secret_id"]
        assert body["member"] == "serviceAccount:${google_service_account.runtime.email}"
        assert body["for_each"] == secrets["this"]["for_each"]


def test_secrets_are_containers_with_automatic_replication() -> None:
    """The gateway token secret always exists, the OpenAI key secret only when asked for."""
    secret = _resources_of("google_secret_manager_secret")["this"]
    assert _one(secret, "replication")["auto"] is not None
    secret_ids = _locals()["secret_ids"]
    assert "aig_token = var.aig_token_secret_id" in secret_ids
    assert "var.use_openai_api_key ? {openai_api_key = var.openai_api_key_secret_id} : {}" in (
        secret_ids
    )


def test_no_secret_value_enters_terraform() -> None:
    """No secret version resource and no secret_data argument appear anywhere."""
    assert _resources_of("google_secret_manager_secret_version") == {}
    for path in _tf_files():
        keys = {key for key, _ in _walk(_parse(path))}
        assert "secret_data" not in keys, path.name
        assert "secret_data" not in path.read_text(), path.name


def test_no_public_principal_literal() -> None:
    """Neither public principal is written anywhere in the module or the example variables."""
    for path in [*_tf_files(), INFRA / "terraform.tfvars.example"]:
        text = path.read_text()
        for principal in PUBLIC_PRINCIPALS:
            assert principal not in text, f"{principal} in {path.name}"


@pytest.mark.parametrize("variable", ["invoker_members", "pubsub_publisher_members"])
def test_member_validation_refuses_public_principals(variable: str) -> None:
    """The members validation accepts IAM principals and refuses public ones and typos."""
    condition = _one(_variables()[variable], "validation")["condition"]
    patterns = [literal for literal in _hcl_string_literals(condition) if literal.startswith("^")]
    assert len(patterns) == 1
    pattern = re.compile(patterns[0])
    accepted = [
        "serviceAccount:caller@my-project.iam.gserviceaccount.com",
        "user:alice@example.com",
        "group:team@example.com",
        "domain:example.com",
        "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*",
    ]
    refused = [
        *PUBLIC_PRINCIPALS,
        "serviceaccount:caller@my-project.iam.gserviceaccount.com",
        "user:",
        "user:alice@example.com extra",
        "",
    ]
    for member in accepted:
        assert pattern.search(member), member
    for member in refused:
        assert not pattern.search(member), member


def test_every_scheduler_job_posts_json_with_an_oidc_token() -> None:
    """Each Scheduler job POSTs the JSON body to the function URL with an OIDC token for it."""
    jobs = _resources_of("google_cloud_scheduler_job")
    assert jobs
    for body in jobs.values():
        target = _one(body, "http_target")
        assert target["http_method"] == "POST"
        assert target["uri"] == "${local.prompt_url}"
        assert target["body"] == "${base64encode(jsonencode(each.value.payload))}"
        assert target["headers"] == {"Content-Type": "application/json"}
        oidc = _one(target, "oidc_token")
        assert oidc["service_account_email"] == "${google_service_account.scheduler[0].email}"
        assert oidc["audience"] == target["uri"]
        assert "oauth_token" not in target


def test_scheduler_identity_may_invoke_this_function_only() -> None:
    """The scheduler account holds run.invoker on the prompt function's service, nothing else."""
    grants = [
        body
        for rtype, body in _resources().items()
        if "google_service_account.scheduler" in json.dumps(body)
        and rtype[0] != "google_cloud_scheduler_job"
    ]
    assert len(grants) == 1
    (grant,) = grants
    assert grant["role"] == "roles/run.invoker"
    assert grant["service"] == "${google_cloudfunctions2_function.prompt.name}"
    assert grant["member"] == "serviceAccount:${google_service_account.scheduler[0].email}"


def test_prompt_url_is_the_function_service_uri() -> None:
    """The URL used by Scheduler and the outputs is the HTTP function's run.app URI."""
    assert (
        _locals()["prompt_url"] == "${google_cloudfunctions2_function.prompt.service_config[0].uri}"
    )


def test_source_object_name_carries_the_archive_md5() -> None:
    """The uploaded zip's name includes the archive MD5, and both functions build from it."""
    obj = _resources_of("google_storage_bucket_object")["source"]
    assert "${data.archive_file.source.output_md5}" in obj["name"]
    assert obj["source"] == "${data.archive_file.source.output_path}"
    for function in _resources_of("google_cloudfunctions2_function").values():
        storage = _one(function, "build_config", "source", "storage_source")
        assert storage["object"] == "${google_storage_bucket_object.source.name}"


def test_archive_zips_the_repository_root_without_dev_paths() -> None:
    """The archive takes the repository root and leaves out tests, tooling, caches and infra."""
    archive = next(
        block["archive_file"]["source"] for block in _blocks("data") if "archive_file" in block
    )
    assert archive["source_dir"] == "${path.module}/.."
    excludes = set(_hcl_string_literals(_locals()["source_excludes"]))
    required = {".git", ".venv", ".venv-*", "tests", "bench", "infra", "emulators"}
    assert required <= excludes
    assert "**/__pycache__" in excludes


def test_functions_run_python312_with_the_contract_entry_points() -> None:
    """The HTTP function runs `prompt` and the Pub/Sub function `prompt_event`, on python312."""
    functions = _resources_of("google_cloudfunctions2_function")
    assert set(functions) == {"prompt", "prompt_event"}
    for name, body in functions.items():
        build = _one(body, "build_config")
        assert build["runtime"] == "python312"
        assert build["entry_point"] == name


def test_event_function_is_triggered_by_pubsub_with_retries() -> None:
    """prompt_event fires on the module topic's messages, with retries, as its own identity."""
    trigger = _one(
        _resources_of("google_cloudfunctions2_function")["prompt_event"], "event_trigger"
    )
    assert trigger["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert trigger["pubsub_topic"] == "${google_pubsub_topic.requests[0].id}"
    assert trigger["service_account_email"] == "${google_service_account.trigger[0].email}"
    invoker = _resources_of("google_cloud_run_service_iam_member")["trigger"]
    assert invoker["service"] == "${google_cloudfunctions2_function.prompt_event[0].name}"
    assert invoker["role"] == "roles/run.invoker"


def test_source_bucket_is_private_and_versioned() -> None:
    """The source bucket has uniform access, enforced public access prevention and versioning."""
    bucket = _resources_of("google_storage_bucket")["source"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert _one(bucket, "versioning")["enabled"] is True
    assert _one(bucket, "lifecycle_rule", "action")["type"] == "Delete"


def test_ingress_is_internal_by_default() -> None:
    """HTTP ingress defaults to internal-only; the event function is always internal-only."""
    ingress = _variables()["ingress_settings"]
    assert ingress["default"] == "ALLOW_INTERNAL_ONLY"
    functions = _resources_of("google_cloudfunctions2_function")
    assert _one(functions["prompt"], "service_config")["ingress_settings"] == (
        "${var.ingress_settings}"
    )
    assert _one(functions["prompt_event"], "service_config")["ingress_settings"] == (
        "ALLOW_INTERNAL_ONLY"
    )


def test_every_variable_has_a_description_and_a_type() -> None:
    """Each input variable declares a non-empty description and a type."""
    variables = _variables()
    assert variables
    for name, body in variables.items():
        assert isinstance(body.get("description"), str) and body["description"].strip(), name
        assert isinstance(body.get("type"), str) and body["type"], name


def test_sizing_defaults_fit_the_async_model() -> None:
    """Defaults: 1 vCPU, 512Mi, 250 concurrent requests, 300 s timeout, 0 to 10 instances."""
    variables = _variables()
    expected = {
        "available_cpu": "1",
        "available_memory": "512Mi",
        "max_instance_request_concurrency": 250,
        "timeout_seconds": 300,
        "min_instance_count": 0,
        "max_instance_count": 10,
    }
    for name, default in expected.items():
        assert variables[name]["default"] == default, name
    concurrency = _one(variables["max_instance_request_concurrency"], "validation")["condition"]
    assert "<= 1000" in concurrency
    assert "<= 3600" in _one(variables["timeout_seconds"], "validation")["condition"]
    assert "<= 540" in _one(variables["event_timeout_seconds"], "validation")["condition"]


def test_upstream_timeout_must_stay_below_the_function_timeouts() -> None:
    """Preconditions tie UPSTREAM_TIMEOUT_SECONDS below both function timeouts."""
    functions = _resources_of("google_cloudfunctions2_function")
    expected = {
        "prompt": "${var.upstream_timeout_seconds < var.timeout_seconds}",
        "prompt_event": "${var.upstream_timeout_seconds < var.event_timeout_seconds}",
    }
    for name, condition in expected.items():
        preconditions = _one(functions[name], "lifecycle")["precondition"]
        assert condition in [item["condition"] for item in preconditions], name


def test_every_setting_the_function_reads_is_wired() -> None:
    """Each contract environment variable is set by the module, and both functions use it all."""
    local = _locals()
    env = local["function_env"]
    for name in (*PLAIN_ENV, *RUNTIME_SECRET_ENV):
        assert re.search(rf"[{{,]\s*{name} = ", env), name
    secret_env = local["function_secret_env"]
    for name in PLATFORM_SECRET_ENV:
        assert f'key = "{name}"' in secret_env, name
    for function in _resources_of("google_cloudfunctions2_function").values():
        service = _one(function, "service_config")
        assert service["environment_variables"] == "${local.function_env}"
        dynamic = service["dynamic"][0]["secret_environment_variables"]
        assert dynamic["for_each"] == "${local.function_secret_env}"


def test_secret_delivery_modes_are_validated() -> None:
    """secret_delivery is runtime (default) or env, and env mode pins numeric versions."""
    variables = _variables()
    assert variables["secret_delivery"]["default"] == "runtime"
    for name in ("aig_token_secret_version", "openai_api_key_secret_version"):
        condition = _one(variables[name], "validation")["condition"]
        (pattern,) = _hcl_string_literals(condition)
        assert re.search(pattern, "3")
        assert not re.search(pattern, "latest")


def test_required_apis_are_enabled_without_disabling_on_destroy() -> None:
    """The nine required services are enabled and left on when the module is destroyed."""
    services = set(_locals()["services"])
    assert services == {
        f"{api}.googleapis.com"
        for api in (
            "cloudfunctions",
            "run",
            "cloudbuild",
            "artifactregistry",
            "secretmanager",
            "cloudscheduler",
            "pubsub",
            "eventarc",
            "iam",
        )
    }
    assert _resources_of("google_project_service")["enabled"]["disable_on_destroy"] is False


def test_checkov_skips_are_inline_and_give_a_reason() -> None:
    """Every checkov skip names a check ID and says why."""
    for path in _tf_files():
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                assert re.search(r"#checkov:skip=CKV2?_[A-Z]+_\d+:\S.{20,}", line), line


def test_tfvars_example_parses_and_names_only_declared_variables() -> None:
    """terraform.tfvars.example is valid HCL and sets only variables the module declares."""
    example = _parse(INFRA / "terraform.tfvars.example")
    declared = set(_variables())
    assert example
    assert set(example) <= declared, set(example) - declared
    required = {name for name, body in _variables().items() if "default" not in body}
    assert required <= set(example)
