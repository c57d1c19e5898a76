"""Log-based metrics, the dashboard and the error-rate alert, read from the HCL."""

from __future__ import annotations

import json
from typing import Any

from tests.support.infra import locals_, one, resources_of

# Fields of the function's request log line that the metric labels read.
LABEL_FIELDS = {"outcome", "http_status", "model", "api", "scheduler_job", "source"}
USAGE_FIELDS = {
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
}


def _metrics() -> dict[str, dict[str, Any]]:
    spec = locals_()["log_metrics"]
    assert isinstance(spec, dict)
    return spec


def test_metrics_cover_requests_errors_latency_tokens_and_cost() -> None:
    """One metric per question, each over the request log line of this module's services."""
    metrics = _metrics()
    assert set(metrics) == {"requests", "errors", "latency", "cost_usd", *USAGE_FIELDS}
    assert metrics["requests"]["value_type"] == "INT64"
    assert metrics["errors"]["filter"] == 'jsonPayload.outcome!="ok"'
    assert metrics["latency"]["field"] == "latency_ms"
    assert metrics["cost_usd"]["field"] == "cost_usd"
    for usage in USAGE_FIELDS:
        assert metrics[usage]["field"] == f"usage.{usage}"
        assert metrics[usage]["filter"] == f"jsonPayload.usage.{usage}:*"
    for name, spec in metrics.items():
        expected = "DISTRIBUTION" if spec["field"] else "INT64"
        assert spec["value_type"] == expected, name
    request_filter = locals_()["request_log_filter"]
    for part in ("cloud_run_revision", "service_name", "outcome:*", "http_status:*"):
        assert part in request_filter
    metric = resources_of("google_logging_metric")["this"]
    assert metric["for_each"] == "${var.enable_monitoring ? local.log_metrics : {}}"
    assert one(metric, "metric_descriptor")["metric_kind"] == "DELTA"


def test_labels_are_bounded_fields_of_the_log_line() -> None:
    """Labels come from the log line, never request_id; cost and tokens split by model and job."""
    metrics = _metrics()
    for name, spec in metrics.items():
        assert set(spec["labels"]) <= LABEL_FIELDS, name
        assert len(spec["labels"]) <= 10, name
    for name in ("cost_usd", *USAGE_FIELDS):
        assert {"model", "scheduler_job"} <= set(metrics[name]["labels"]), name
    assert "outcome" in metrics["errors"]["labels"]
    assert "request_id" not in json.dumps(metrics)
    metric = resources_of("google_logging_metric")["this"]
    assert "EXTRACT(jsonPayload.${label})" in metric["label_extractors"]
    assert "EXTRACT(jsonPayload.${each.value.field})" in metric["value_extractor"]


def test_alert_is_on_the_server_error_ratio_with_optional_channels() -> None:
    """5xx errors over all requests above a threshold, notifying the configured channels."""
    policy = resources_of("google_monitoring_alert_policy")["error_rate"]
    assert policy["notification_channels"] == "${var.alert_notification_channels}"
    threshold = one(policy, "conditions", "condition_threshold")
    assert "local.metric_types.errors" in threshold["filter"]
    assert 'metric.labels.http_status=starts_with("5")' in threshold["filter"]
    assert "local.metric_types.requests" in threshold["denominator_filter"]
    assert threshold["threshold_value"] == "${var.alert_error_rate}"
    assert threshold["comparison"] == "COMPARISON_GT"
    assert "${time_sleep.log_metrics}" in policy["depends_on"]


def test_dashboard_charts_every_metric_family() -> None:
    """The dashboard charts requests, errors, latency, tokens and cost by model and job."""
    dashboard = resources_of("google_monitoring_dashboard")["this"]
    assert dashboard["dashboard_json"] == "${jsonencode(local.dashboard)}"
    charted = {chart["metric"] for chart in locals_()["dashboard_filter_charts"]}
    assert charted == {"requests", "errors", "latency"}
    promql = json.dumps(locals_()["dashboard_promql_charts"]) + locals_()["promql_sum_by"]
    for needle in ("total_tokens", "cost_usd", "model", "scheduler_job", "_sum{"):
        assert needle in promql, needle
