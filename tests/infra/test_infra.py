"""Static checks of the Terraform module in infra/, read with python-hcl2 (no terraform binary).

These pin the wiring properties the module promises: authenticated Scheduler calls, the source
archive, both entry points, and every setting the function reads (README.md, openapi.yaml)
actually set (test_infra_security.py: secrets and IAM).
"""

from __future__ import annotations

import json
import re

from tests.support.infra import (
    EXAMPLE,
    INFRA,
    ROOT,
    blocks,
    hcl_string_literals,
    locals_,
    one,
    outputs,
    parse,
    resources,
    resources_of,
    tf_files,
    variables,
)

# Every setting the function reads from its environment, by delivery mode.
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
    "BATCH_MAX_ITEMS",
    "BATCH_CONCURRENCY",
    "LOG_PROMPTS",
)
RUNTIME_SECRET_ENV = ("AIG_TOKEN_SECRET", "OPENAI_API_KEY_SECRET")
PLATFORM_SECRET_ENV = ("AIG_TOKEN", "OPENAI_API_KEY")


def test_every_tf_file_parses() -> None:
    """Every .tf file of the module and the example is valid HCL2, with the conventional files."""
    names = {path.name for path in tf_files()}
    assert {"versions.tf", "main.tf", "variables.tf", "outputs.tf"} <= names
    for path in [*tf_files(), *tf_files(EXAMPLE)]:
        assert isinstance(parse(path), dict), path.name


def test_module_configures_no_provider() -> None:
    """infra/ is a module: no provider block; the example configures google and google-beta."""
    assert list(blocks("provider")) == []
    example = [name for block in blocks("provider", EXAMPLE) for name in block]
    assert sorted(example) == ["google", "google-beta"]
    (call,) = [body for block in blocks("module", EXAMPLE) for body in block.values()]
    assert call["source"] == "../../infra"


def test_example_passes_only_declared_variables() -> None:
    """The example sets module inputs that exist, and its tfvars only variables it declares."""
    (call,) = [body for block in blocks("module", EXAMPLE) for body in block.values()]
    module_inputs = set(variables())
    assert set(call) - {"source"} <= module_inputs
    required = {name for name, body in variables().items() if "default" not in body}
    assert required <= set(call)
    example_vars = variables(EXAMPLE)
    tfvars = parse(EXAMPLE / "terraform.tfvars.example")
    assert tfvars
    assert set(tfvars) <= set(example_vars), set(tfvars) - set(example_vars)
    assert {name for name, body in example_vars.items() if "default" not in body} <= set(tfvars)


def test_nothing_points_at_a_contract_file_outside_the_repository() -> None:
    """The module, example and infra tests name README.md / openapi.yaml, not a shared file."""
    needle = "CONTRACT" + ".md"
    paths = [
        *INFRA.rglob("*.tf"),
        *INFRA.glob("*.md"),
        *EXAMPLE.iterdir(),
        *ROOT.joinpath("tests", "infra").glob("test_*.py"),
    ]
    for path in paths:
        if path.is_file():
            assert needle not in path.read_text(), path


def test_every_scheduler_job_posts_json_with_an_oidc_token() -> None:
    """Each Scheduler job POSTs the JSON body, with its deliver flag, to the function URL."""
    jobs = resources_of("google_cloud_scheduler_job")
    assert jobs
    for body in jobs.values():
        target = one(body, "http_target")
        assert target["http_method"] == "POST"
        assert target["uri"] == "${local.prompt_url}"
        assert target["body"] == (
            "${base64encode(jsonencode(merge(each.value.payload, {deliver = each.value.deliver})))}"
        )
        assert target["headers"] == {"Content-Type": "application/json"}
        oidc = one(target, "oidc_token")
        assert oidc["service_account_email"] == "${google_service_account.scheduler[0].email}"
        assert oidc["audience"] == target["uri"]
        assert "oauth_token" not in target


def test_scheduler_identity_may_invoke_this_function_only() -> None:
    """The scheduler account holds run.invoker on the prompt function's service, nothing else."""
    grants = [
        body
        for rtype, body in resources().items()
        if "google_service_account.scheduler" in json.dumps(body)
        and rtype[0] != "google_cloud_scheduler_job"
    ]
    assert len(grants) == 1
    (grant,) = grants
    assert grant["role"] == "roles/run.invoker"
    assert grant["service"] == '${google_cloudfunctions2_function.this["prompt"].name}'
    assert grant["member"] == "serviceAccount:${google_service_account.scheduler[0].email}"


def test_prompt_url_is_the_function_service_uri() -> None:
    """The URL used by Scheduler and the outputs is the HTTP function's run.app URI."""
    assert locals_()["prompt_url"] == (
        '${google_cloudfunctions2_function.this["prompt"].service_config[0].uri}'
    )


def test_source_object_name_carries_the_archive_md5() -> None:
    """The uploaded zip's name includes the archive MD5, and the functions build from it."""
    obj = resources_of("google_storage_bucket_object")["source"]
    assert "${data.archive_file.source.output_md5}" in obj["name"]
    assert obj["source"] == "${data.archive_file.source.output_path}"
    function = resources_of("google_cloudfunctions2_function")["this"]
    storage = one(function, "build_config", "source", "storage_source")
    assert storage["object"] == "${google_storage_bucket_object.source.name}"


def test_archive_zips_the_repository_root_without_dev_paths() -> None:
    """The archive takes the repository root and leaves out tests, tooling, caches and infra."""
    archive = next(
        block["archive_file"]["source"] for block in blocks("data") if "archive_file" in block
    )
    assert archive["source_dir"] == "${path.module}/.."
    excludes = set(hcl_string_literals(locals_()["source_excludes"]))
    required = {".git", ".venv", ".venv-*", "tests", "bench", "infra", "emulators", "examples"}
    assert required <= excludes
    assert "**/__pycache__" in excludes


def test_one_function_resource_serves_both_entry_points() -> None:
    """A single for_each resource, keyed by role, takes its entry point and runtime from
    variables; old addresses move."""
    functions = resources_of("google_cloudfunctions2_function")
    assert set(functions) == {"this"}
    body = functions["this"]
    assert body["for_each"] == "${local.functions}"
    build = one(body, "build_config")
    assert build["runtime"] == "${var.runtime}"
    assert build["entry_point"] == "${each.value.entry_point}"
    spec = locals_()["functions"]
    assert '{prompt = {name = var.name, entry_point = "prompt",' in spec
    assert 'local.push ? {event = {name = "${var.name}-event", entry_point = "prompt_push",' in spec
    assert (
        'local.eventarc ? {event = {name = "${var.name}-event", entry_point = "prompt_event",'
        in spec
    )
    moved = {(m["from"], m["to"]) for m in blocks("moved")}
    old = "${google_cloudfunctions2_function.%s}"
    assert moved == {
        (old % "prompt", old % 'this["prompt"]'),
        (old % "prompt_event[0]", old % 'this["prompt_event"]'),
        (old % 'this["prompt_event"]', old % 'this["event"]'),
    }


def test_event_function_is_triggered_by_pubsub_with_retries() -> None:
    """With eventarc delivery, prompt_event fires on the module topic's messages, with retries,
    as its own identity; that identity may invoke the event function."""
    body = resources_of("google_cloudfunctions2_function")["this"]
    dynamic = body["dynamic"]
    (trigger_block,) = [d["event_trigger"] for d in dynamic if "event_trigger" in d]
    assert trigger_block["for_each"] == (
        '${each.value.entry_point == "prompt_event" ? ["pubsub"] : []}'
    )
    trigger = one(trigger_block, "content")
    assert trigger["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert trigger["pubsub_topic"] == "${google_pubsub_topic.requests[0].id}"
    assert trigger["service_account_email"] == "${google_service_account.trigger[0].email}"
    invoker = resources_of("google_cloud_run_service_iam_member")["trigger"]
    assert invoker["service"] == '${google_cloudfunctions2_function.this["event"].name}'
    assert invoker["role"] == "roles/run.invoker"


def test_source_bucket_is_private_and_versioned() -> None:
    """The source bucket has uniform access, enforced public access prevention and versioning."""
    bucket = resources_of("google_storage_bucket")["source"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert one(bucket, "versioning")["enabled"] is True
    assert one(bucket, "lifecycle_rule", "action")["type"] == "Delete"


def test_ingress_is_internal_by_default() -> None:
    """HTTP ingress defaults to internal-only; the event function is always internal-only."""
    assert variables()["ingress_settings"]["default"] == "ALLOW_INTERNAL_ONLY"
    service = one(resources_of("google_cloudfunctions2_function")["this"], "service_config")
    assert service["ingress_settings"] == (
        '${each.key == "prompt" ? var.ingress_settings : "ALLOW_INTERNAL_ONLY"}'
    )


def test_every_variable_has_a_description_and_a_type() -> None:
    """Each input variable declares a non-empty description and a type."""
    for folder in (INFRA, EXAMPLE):
        found = variables(folder)
        assert found
        for name, body in found.items():
            assert isinstance(body.get("description"), str) and body["description"].strip(), name
            assert isinstance(body.get("type"), str) and body["type"], name


def test_upstream_timeout_must_stay_below_the_function_timeouts() -> None:
    """A precondition ties UPSTREAM_TIMEOUT_SECONDS below each function's own timeout."""
    function = resources_of("google_cloudfunctions2_function")["this"]
    preconditions = one(function, "lifecycle")["precondition"]
    assert "${var.upstream_timeout_seconds < each.value.timeout}" in [
        item["condition"] for item in preconditions
    ]
    spec = locals_()["functions"]
    assert "timeout = var.timeout_seconds" in spec
    assert "timeout = var.event_timeout_seconds" in spec


def test_every_setting_the_function_reads_is_wired() -> None:
    """Each environment setting is set by the module, and the function uses them all."""
    local = locals_()
    env = local["function_env"]
    for name in (*PLAIN_ENV, *RUNTIME_SECRET_ENV):
        assert re.search(rf"[{{,]\s*{name} = ", env), name
    assert "local.results_env" in env
    secret_env = local["function_secret_env"]
    for name in PLATFORM_SECRET_ENV:
        assert f'key = "{name}"' in secret_env, name
    service = one(resources_of("google_cloudfunctions2_function")["this"], "service_config")
    assert service["environment_variables"] == "${local.function_env}"
    dynamic = service["dynamic"][0]["secret_environment_variables"]
    assert dynamic["for_each"] == "${local.function_secret_env}"


def test_secret_delivery_modes_are_validated() -> None:
    """secret_delivery is runtime (default) or env, and env mode pins numeric versions."""
    found = variables()
    assert found["secret_delivery"]["default"] == "runtime"
    for name in ("aig_token_secret_version", "openai_api_key_secret_version"):
        condition = one(found[name], "validation")["condition"]
        (pattern,) = hcl_string_literals(condition)
        assert re.search(pattern, "3")
        assert not re.search(pattern, "latest")


def test_required_apis_are_enabled_without_disabling_on_destroy() -> None:
    """The required services, logging, monitoring and storage included, stay on after destroy;
    Eventarc and Compute Engine only where they are used."""
    services = locals_()["services"]
    apis = (
        "cloudfunctions run cloudbuild artifactregistry secretmanager cloudscheduler pubsub "
        "iam logging monitoring storage"
    )
    for api in apis.split():
        assert f'"{api}.googleapis.com"' in services, api
    assert 'local.eventarc ? ["eventarc.googleapis.com"] : []' in services
    assert 'var.build_identity == "default" ? ["compute.googleapis.com"] : []' in services
    assert resources_of("google_project_service")["enabled"]["disable_on_destroy"] is False


def test_checkov_skips_are_inline_and_give_a_reason() -> None:
    """Every checkov skip names a check ID and says why."""
    for path in tf_files():
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                assert re.search(r"#checkov:skip=CKV2?_[A-Z]+_\d+:\S.{20,}", line), line


def test_example_outputs_name_module_outputs() -> None:
    """Every output of the example re-exports an output the module declares."""
    declared = set(outputs())
    for name, body in outputs(EXAMPLE).items():
        match = re.fullmatch(r"\$\{module\.prompt\.(\w+)\}", body["value"])
        assert match and match[1] in declared, name
