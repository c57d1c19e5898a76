"""The module's first-apply wiring: service agents, IAM waits, build identity, dead letters,
result sinks and reserved names, read from the HCL with python-hcl2."""

from __future__ import annotations

import re

import pytest

from emulators.eventarc_pull import DEFAULT_MAX_OUTSTANDING
from tests.support.infra import (
    conditions,
    hcl_string_literals,
    locals_,
    one,
    resources_of,
    variables,
)

RUNTIME = "serviceAccount:${google_service_account.runtime.email}"


def test_service_agents_exist_before_anything_grants_to_them() -> None:
    """Pub/Sub and Eventarc agents are created (beta provider), then granted to, then awaited."""
    agents = resources_of("google_project_service_identity")["agents"]
    assert agents["provider"] in ("google-beta", "${google-beta}")
    assert agents["for_each"] == "${local.service_agents}"
    spec = locals_()["service_agents"]
    assert 'var.enable_pubsub_trigger ? ["pubsub.googleapis.com"] : []' in spec
    assert 'local.eventarc ? ["eventarc.googleapis.com"] : []' in spec
    for kind in ("google_pubsub_topic_iam_member", "google_pubsub_subscription_iam_member"):
        grant = resources_of(kind)["dead_letter_agent"]
        assert "${google_project_service_identity.agents}" in grant["depends_on"]
    assert (
        "${google_project_service_identity.agents}"
        in (resources_of("google_bigquery_table_iam_member")["results_agent"]["depends_on"])
    )


def test_functions_wait_for_every_grant_they_depend_on() -> None:
    """time_sleep follows the build, secret, agent and sink grants; the functions follow it."""
    sleep = resources_of("time_sleep")["iam_propagation"]
    assert sleep["create_duration"] == "${var.iam_propagation_wait}"
    waits_for = set(sleep["depends_on"])
    assert {
        "${google_project_iam_member.build}",
        "${google_project_iam_member.default_build}",
        "${google_service_account_iam_member.build_users}",
        "${google_secret_manager_secret_iam_member.runtime}",
        "${google_project_service_identity.agents}",
        "${google_pubsub_topic_iam_member.results_runtime}",
        "${google_storage_bucket_iam_member.results_runtime}",
    } <= waits_for
    function = resources_of("google_cloudfunctions2_function")["this"]
    assert "${time_sleep.iam_propagation}" in function["depends_on"]


def test_token_creator_only_for_pubsub_agents_from_before_april_2021() -> None:
    """Token Creator is granted on the trigger account only, and only when asked for."""
    grant = resources_of("google_service_account_iam_member")["pubsub_token_creator"]
    assert grant["role"] == "roles/iam.serviceAccountTokenCreator"
    assert grant["count"] == (
        "${var.enable_pubsub_trigger && var.pubsub_agent_predates_2021_04_08 ? 1 : 0}"
    )
    assert grant["service_account_id"] == "${google_service_account.trigger[0].name}"
    assert variables()["pubsub_agent_predates_2021_04_08"]["default"] is False


def test_build_identity_paths() -> None:
    """dedicated: own account with its three roles and actAs; default: builds.builder only."""
    assert variables()["build_identity"]["default"] == "dedicated"
    roles = {r for r in hcl_string_literals(locals_()["dedicated_build_roles"]) if "/" in r}
    assert roles == {
        "roles/logging.logWriter",
        "roles/artifactregistry.writer",
        "roles/storage.objectAdmin",
    }
    users = resources_of("google_service_account_iam_member")["build_users"]
    assert users["role"] == "roles/iam.serviceAccountUser"
    assert users["service_account_id"] == "${google_service_account.build[0].name}"
    build = resources_of("google_cloudfunctions2_function")["this"]
    assert one(build, "build_config")["service_account"] == "${local.build_service_account}"
    description = variables()["build_identity"]["description"]
    for word in ("dedicated", "default", "external", "roles/cloudbuild.builds.builder"):
        assert word in description


def test_dead_letter_topic_subscription_and_grants() -> None:
    """The DLQ topic has a subscription keeping messages, and the agent may publish to it."""
    topic = resources_of("google_pubsub_topic")["dead_letter"]
    assert topic["name"] == "${var.name}-dead-letter"
    keeper = resources_of("google_pubsub_subscription")["dead_letter"]
    assert keeper["topic"] == "${google_pubsub_topic.dead_letter[0].id}"
    assert keeper["message_retention_duration"] == "604800s"
    assert one(keeper, "expiration_policy")["ttl"] == ""
    grant = resources_of("google_pubsub_topic_iam_member")["dead_letter_agent"]
    assert grant["role"] == "roles/pubsub.publisher"
    assert grant["member"] == "${local.pubsub_agent}"
    assert "@gcp-sa-pubsub.iam.gserviceaccount.com" in locals_()["pubsub_agent"]


def test_local_delivery_concurrency_is_the_module_default() -> None:
    """The Eventarc stand-in keeps as many pushes in flight as one instance takes by default."""
    default = variables()["max_instance_request_concurrency"]["default"]
    assert default == DEFAULT_MAX_OUTSTANDING


def test_results_topic_subscription_and_least_grants() -> None:
    """The results topic: publisher for the runtime only, a pull subscription, BigQuery rows."""
    publisher = resources_of("google_pubsub_topic_iam_member")["results_runtime"]
    assert publisher["role"] == "roles/pubsub.publisher"
    assert publisher["member"] == RUNTIME
    assert publisher["topic"] == "${google_pubsub_topic.results[0].name}"
    pull = resources_of("google_pubsub_subscription")["results"]
    assert "push_config" not in pull and "bigquery_config" not in pull
    readers = resources_of("google_pubsub_subscription_iam_member")["results_readers"]
    assert readers["role"] == "roles/pubsub.subscriber"
    bq = resources_of("google_pubsub_subscription")["results_bigquery"]
    config = one(bq, "bigquery_config")
    assert config["table"] == "${var.results_bigquery_table}"
    assert config["write_metadata"] is True
    writer = resources_of("google_bigquery_table_iam_member")["results_agent"]
    assert writer["role"] == "roles/bigquery.dataEditor"


def test_results_bucket_is_private_with_an_expiry_and_create_only_access() -> None:
    """Uniform access, public access prevention, a lifecycle age, objectCreator for the runtime."""
    bucket = resources_of("google_storage_bucket")["results"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    ages = [rule["condition"][0].get("age") for rule in bucket["lifecycle_rule"]]
    assert "${var.results_retention_days}" in ages
    grant = resources_of("google_storage_bucket_iam_member")["results_runtime"]
    assert grant["role"] == "roles/storage.objectCreator"
    assert grant["member"] == RUNTIME


def test_result_settings_reach_the_function() -> None:
    """RESULTS_TOPIC, RESULTS_BUCKET and RESULTS_PREFIX are set when their sink exists."""
    env = locals_()["results_env"]
    assert "RESULTS_TOPIC = google_pubsub_topic.results[0].id" in env
    assert "RESULTS_BUCKET = google_storage_bucket.results[0].name" in env
    assert "RESULTS_PREFIX = var.results_prefix" in env


def test_scheduler_jobs_deliver_by_default() -> None:
    """A job's deliver comes from its entry, else its payload, else true."""
    jobs = locals_()["scheduler_jobs"]
    assert "deliver = coalesce(try(job.deliver, null), try(job.payload.deliver, null), true)" in (
        jobs
    )


NAME_PATTERN_VARIABLES = ("name", "source_bucket_name", "results_bucket_name")


@pytest.mark.parametrize("variable", NAME_PATTERN_VARIABLES)
def test_reserved_google_names_are_refused(variable: str) -> None:
    """Names Google reserves (goog..., ...google...) fail validation."""
    (condition,) = [c for c in conditions(variable) if "goog" in c]
    assert re.search(r'startswith\(.*?, "goog"\)', condition)
    assert re.search(r'strcontains\(.*?, "google"\)', condition)
    assert "!startswith" in condition and "!strcontains" in condition


def test_logging_api_is_enabled() -> None:
    """Cloud Logging (the log-based metrics' source) is among the enabled services."""
    assert "logging.googleapis.com" in locals_()["services"]


def test_bulk_buckets_get_per_bucket_runtime_grants() -> None:
    """Input buckets: objectViewer; output buckets: objectUser (create, read, list, delete the
    compose parts); the runtime account only."""
    grants = resources_of("google_storage_bucket_iam_member")
    expected = {
        "bulk_input": "roles/storage.objectViewer",
        "bulk_output": "roles/storage.objectUser",
    }
    for name, role in expected.items():
        assert grants[name]["role"] == role
        assert grants[name]["member"] == RUNTIME
        assert grants[name]["bucket"] == "${each.value}"
    publisher = resources_of("google_pubsub_topic_iam_member")["requests_runtime"]
    assert publisher["member"] == RUNTIME
    assert publisher["topic"] == "${google_pubsub_topic.requests[0].name}"


def test_bulk_topic_is_the_request_topic() -> None:
    """BULK_TOPIC (docs/bulk.md) names the request topic the runtime account may publish to."""
    env = locals_()["function_env"]
    assert "BULK_TOPIC = google_pubsub_topic.requests[0].id" in env
