# Log-based metrics from the function's request log line (one JSON object per request, with
# outcome, http_status, latency_ms, usage, cost_usd, model, api, scheduler_job, source), a
# dashboard over them and an alert on the server-error rate. Off with enable_monitoring = false.

locals {
  metric_prefix = replace(var.name, "-", "_")
  service_names = join(" OR ", [for f in local.functions : "\"${f.name}\""])

  # The request line is the one carrying both outcome and http_status.
  request_log_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=(${local.service_names})",
    "jsonPayload.outcome:*",
    "jsonPayload.http_status:*",
  ])

  # Labels are bounded by design: outcome is "ok" or an error type, model by allowed_models,
  # scheduler_job by scheduler_jobs. request_id is never a label.
  log_metrics = {
    requests = {
      description = "Requests by outcome (ok or the error type), API, model, HTTP status, scheduler job and source."
      value_type  = "INT64"
      field       = null
      unit        = "1"
      filter      = ""
      labels      = ["outcome", "api", "model", "http_status", "scheduler_job", "source"]
    }
    errors = {
      description = "Failed requests by error type, API, model, HTTP status and scheduler job."
      value_type  = "INT64"
      field       = null
      unit        = "1"
      filter      = "jsonPayload.outcome!=\"ok\""
      labels      = ["outcome", "api", "model", "http_status", "scheduler_job"]
    }
    latency = {
      description = "Request latency (latency_ms) by outcome, API and model."
      value_type  = "DISTRIBUTION"
      field       = "latency_ms"
      unit        = "ms"
      filter      = "jsonPayload.latency_ms:*"
      labels      = ["outcome", "api", "model"]
    }
    input_tokens = {
      description = "Input tokens per request (usage.input_tokens) by model and scheduler job."
      value_type  = "DISTRIBUTION"
      field       = "usage.input_tokens"
      unit        = "1"
      filter      = "jsonPayload.usage.input_tokens:*"
      labels      = ["api", "model", "scheduler_job"]
    }
    output_tokens = {
      description = "Output tokens per request (usage.output_tokens) by model and scheduler job."
      value_type  = "DISTRIBUTION"
      field       = "usage.output_tokens"
      unit        = "1"
      filter      = "jsonPayload.usage.output_tokens:*"
      labels      = ["api", "model", "scheduler_job"]
    }
    total_tokens = {
      description = "Total tokens per request (usage.total_tokens) by model and scheduler job."
      value_type  = "DISTRIBUTION"
      field       = "usage.total_tokens"
      unit        = "1"
      filter      = "jsonPayload.usage.total_tokens:*"
      labels      = ["api", "model", "scheduler_job"]
    }
    cached_input_tokens = {
      description = "Cached input tokens per request (usage.cached_input_tokens) by model and scheduler job."
      value_type  = "DISTRIBUTION"
      field       = "usage.cached_input_tokens"
      unit        = "1"
      filter      = "jsonPayload.usage.cached_input_tokens:*"
      labels      = ["api", "model", "scheduler_job"]
    }
    reasoning_tokens = {
      description = "Reasoning tokens per request (usage.reasoning_tokens) by model and scheduler job."
      value_type  = "DISTRIBUTION"
      field       = "usage.reasoning_tokens"
      unit        = "1"
      filter      = "jsonPayload.usage.reasoning_tokens:*"
      labels      = ["api", "model", "scheduler_job"]
    }
    cost_usd = {
      description = "Cost per request in US dollars (cost_usd; absent when the model's price is unknown) by model and scheduler job."
      value_type  = "DISTRIBUTION"
      field       = "cost_usd"
      unit        = "{USD}"
      filter      = "jsonPayload.cost_usd:*"
      labels      = ["api", "model", "scheduler_job"]
    }
  }

  # Exponential buckets per unit: 1 ms to ~17 min, 1 token to ~10^9, a micro-dollar to ~$10^3.
  metric_buckets = {
    ms      = { scale = 1, growth = 1.5, count = 52 }
    "1"     = { scale = 1, growth = 2, count = 30 }
    "{USD}" = { scale = 0.000001, growth = 2, count = 30 }
  }

  metric_types = { for key, _ in local.log_metrics : key => "logging.googleapis.com/user/${local.metric_prefix}_${key}" }
}

resource "google_logging_metric" "this" {
  for_each = var.enable_monitoring ? local.log_metrics : {}

  project     = var.project_id
  name        = "${local.metric_prefix}_${each.key}"
  description = each.value.description
  filter      = join(" AND ", compact([local.request_log_filter, each.value.filter]))

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = each.value.value_type
    unit         = each.value.unit
    display_name = "${var.name} ${replace(each.key, "_", " ")}"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.value
        value_type = "STRING"
      }
    }
  }

  label_extractors = { for label in each.value.labels : label => "EXTRACT(jsonPayload.${label})" }
  value_extractor  = each.value.field == null ? null : "EXTRACT(jsonPayload.${each.value.field})"

  dynamic "bucket_options" {
    for_each = each.value.value_type == "DISTRIBUTION" ? [local.metric_buckets[each.value.unit]] : []
    content {
      exponential_buckets {
        num_finite_buckets = bucket_options.value.count
        growth_factor      = bucket_options.value.growth
        scale              = bucket_options.value.scale
      }
    }
  }

  depends_on = [time_sleep.apis]
}

# A new log-based metric is not known to Cloud Monitoring's alerting for several minutes, and a
# policy naming it meanwhile fails with 404 "Cannot find metric(s)" (hashicorp/terraform-provider-
# google issue 11102). Dashboards take unknown metrics, so only the alert waits. Waits again only
# when the set of metrics changes.
resource "time_sleep" "log_metrics" {
  count = var.enable_monitoring ? 1 : 0

  create_duration = var.metric_propagation_wait

  triggers = {
    metrics = join(",", sort([for metric in google_logging_metric.this : metric.name]))
  }
}

# ---------------------------------------------------------------------------------------------
# Alert: share of requests answered with a 5xx status (client errors are the caller's doing).
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "error_rate" {
  count = var.enable_monitoring ? 1 : 0

  project               = var.project_id
  display_name          = "${var.name}: server error rate above ${var.alert_error_rate * 100}%"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "5xx answers / all answers > ${var.alert_error_rate}"

    condition_threshold {
      filter             = "metric.type=\"${local.metric_types.errors}\" AND resource.type=\"cloud_run_revision\" AND metric.labels.http_status=starts_with(\"5\")"
      denominator_filter = "metric.type=\"${local.metric_types.requests}\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_error_rate
      duration           = "${var.alert_duration_seconds}s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_error_rate * 100}% of ${var.name} requests answered 5xx over ${var.alert_duration_seconds} s. The `${local.metric_prefix}_errors` metric's `outcome` label names the error type; the request log lines carry `request_id`."
  }

  # The metric descriptors must exist, and be known to alerting, before a policy can name them.
  depends_on = [time_sleep.log_metrics]
}

resource "google_monitoring_dashboard" "this" {
  count = var.enable_monitoring ? 1 : 0

  project        = var.project_id
  dashboard_json = jsonencode(local.dashboard)

  depends_on = [google_logging_metric.this]
}
