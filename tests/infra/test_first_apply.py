"""What a first apply on an empty project needs, read from the HCL with python-hcl2: waits after
enabling APIs and after creating log-based metrics, the APIs themselves, a project number known
at plan time, the BigQuery subscription after its grant, and a dashboard that plans clean."""

from __future__ import annotations

import re

from tests.support.infra import INFRA, blocks, locals_, resources, resources_of, variables

API_WAIT = "${time_sleep.apis}"


def test_apis_are_waited_for_before_anything_uses_them() -> None:
    """Only the wait depends on the enable itself; what used to follow the APIs follows the
    wait, which re-runs only when the API list changes."""
    sleep = resources_of("time_sleep")["apis"]
    assert sleep["create_duration"] == "${var.api_enable_wait}"
    assert sleep["depends_on"] == ["${google_project_service.enabled}"]
    assert sleep["triggers"] == {"services": '${join(",", sort(local.services))}'}
    for key, body in resources().items():
        if key != ("time_sleep", "apis"):
            assert "${google_project_service.enabled}" not in body.get("depends_on", []), key
    followers = [key for key, body in resources().items() if API_WAIT in body.get("depends_on", [])]
    for kind in (
        "google_cloudfunctions2_function",
        "google_storage_bucket",
        "google_pubsub_topic",
        "google_service_account",
        "google_secret_manager_secret",
        "google_logging_metric",
        "google_cloud_scheduler_job",
        "google_project_service_identity",
    ):
        assert any(k == kind for k, _ in followers), kind


def test_storage_and_compute_engine_apis_where_needed() -> None:
    """Cloud Storage always (buckets); Compute Engine when builds run as its default account,
    whose grant then waits for the APIs."""
    services = locals_()["services"]
    assert '"storage.googleapis.com"' in services
    assert 'var.build_identity == "default" ? ["compute.googleapis.com"] : []' in services
    grant = resources_of("google_project_iam_member")["default_build"]
    assert grant["depends_on"] == [API_WAIT]


def test_project_number_is_read_at_plan_time() -> None:
    """data.google_project is not ordered after the APIs, so the service agents' emails (and
    the grants to them) are known in the plan instead of being replaced on every apply."""
    (project,) = [b["google_project"]["this"] for b in blocks("data") if "google_project" in b]
    assert "depends_on" not in project
    assert "${data.google_project.this.number}" in locals_()["pubsub_agent"]


def test_alert_policy_waits_for_its_log_metrics() -> None:
    """The alert follows a pause after the metrics (Monitoring answers 404 for new log-based
    metrics for minutes); the dashboard, which takes unknown metrics, does not wait."""
    sleep = resources_of("time_sleep")["log_metrics"]
    assert sleep["create_duration"] == "${var.metric_propagation_wait}"
    assert "google_logging_metric.this" in sleep["triggers"]["metrics"]
    assert variables()["metric_propagation_wait"]["default"] == "300s"
    policy = resources_of("google_monitoring_alert_policy")["error_rate"]
    assert policy["depends_on"] == ["${time_sleep.log_metrics}"]
    dashboard = resources_of("google_monitoring_dashboard")["this"]
    assert "${time_sleep.log_metrics}" not in dashboard["depends_on"]


def test_bigquery_subscription_follows_its_grant_after_the_pause() -> None:
    """Pub/Sub checks the agent's access to the table when it creates the subscription."""
    subscription = resources_of("google_pubsub_subscription")["results_bigquery"]
    assert subscription["depends_on"] == ["${time_sleep.iam_propagation}"]
    sleep = resources_of("time_sleep")["iam_propagation"]
    assert "${google_bigquery_table_iam_member.results_agent}" in sleep["depends_on"]
    assert "var.results_bigquery_table" in sleep["triggers"]["bigquery"]


def test_service_agents_are_created_before_the_functions() -> None:
    """The Pub/Sub (and, for Eventarc, the Eventarc) agent exists and its grants have had time
    to propagate before <name>-event is deployed."""
    sleep = resources_of("time_sleep")["iam_propagation"]
    assert "${google_project_service_identity.agents}" in sleep["depends_on"]
    assert "local.service_agents" in sleep["triggers"]["agents"]
    function = resources_of("google_cloudfunctions2_function")["this"]
    assert "${time_sleep.iam_propagation}" in function["depends_on"]


def test_dashboard_tiles_leave_zero_positions_out() -> None:
    """The API drops zero-valued fields from the stored dashboard: a tile writes xPos / yPos
    only when they are not zero, so plans stay clean."""
    layout = locals_()["dashboard"]["mosaicLayout"]
    tiles = layout["tiles"]
    assert "xPos" not in re.sub(r"\? \{\} : \{xPos = [^}]*\}", "", tiles)
    assert "(i % 2) * 6 == 0 ? {} : {xPos = (i % 2) * 6}" in tiles
    assert "floor(i / 2) * 4 == 0 ? {} : {yPos = floor(i / 2) * 4}" in tiles
    assert "yPos" not in re.sub(r"\? \{\} : \{yPos = [^}]*\}", "", tiles)


def test_bulk_buckets_are_exactly_the_granted_ones() -> None:
    """BULK_BUCKETS names the buckets bulk.tf grants, and is unset when there are none."""
    local = locals_()
    assert local["bulk_buckets"] == (
        "${sort(distinct(concat(var.bulk_input_buckets, var.bulk_output_buckets)))}"
    )
    assert (
        'length(local.bulk_buckets) > 0 ? {BULK_BUCKETS = join(",", local.bulk_buckets)} : {}'
        in local["function_env"]
    )


def test_default_runtime_is_the_one_make_test_runs_the_code_on() -> None:
    """runtime offers python311 to python313 and defaults to python313, which `make test` runs
    the unit-level tests and the HTTP function on (test-py313)."""
    variable = variables()["runtime"]
    assert variable["default"] == "python313"
    makefile = (INFRA.parent / "Makefile").read_text()
    assert "PY313 ?= PYENV_VERSION=3.13.0 python3" in makefile
    assert "sys.version_info[:2] != (3, 13)" in makefile
    (test_line,) = [line for line in makefile.splitlines() if line.startswith("test:")]
    assert "test-py313" in test_line.split()
    function = resources_of("google_cloudfunctions2_function")["this"]
    assert function["build_config"][0]["runtime"] == "${var.runtime}"
