# The Cloud Monitoring dashboard over the log-based metrics (monitoring.tf). Counts and
# latency use plain time-series filters; token and cost totals need the sum of distribution
# values, which PromQL exposes as <metric>_sum.

locals {
  promql_metric = { for key, type in local.metric_types : key => "logging_googleapis_com:user_${local.metric_prefix}_${key}" }

  dashboard_filter_charts = [
    { title = "Requests per second by outcome", metric = "requests", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = "metric.label.outcome" },
    { title = "Errors per second by type", metric = "errors", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = "metric.label.outcome" },
    { title = "Requests per second by model", metric = "requests", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = "metric.label.model" },
    { title = "Requests per second by scheduler job", metric = "requests", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = "metric.label.scheduler_job" },
    { title = "Latency p50 (ms) by model", metric = "latency", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_50", group = "metric.label.model" },
    { title = "Latency p95 (ms) by model", metric = "latency", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_95", group = "metric.label.model" },
  ]

  # Each query is one line of the chart.
  dashboard_promql_charts = [
    { title = "Tokens per hour by model", queries = [local.promql_sum_by.total_tokens_model] },
    { title = "Input, output and reasoning tokens per hour", queries = [for key in ["input_tokens", "output_tokens", "reasoning_tokens", "cached_input_tokens"] : "sum(increase(${local.promql_metric[key]}_sum{monitored_resource=\"cloud_run_revision\"}[1h]))"] },
    { title = "Tokens per hour by scheduler job", queries = [local.promql_sum_by.total_tokens_scheduler_job] },
    { title = "Cost (USD) per hour by model", queries = [local.promql_sum_by.cost_usd_model] },
    { title = "Cost (USD) per hour by scheduler job", queries = [local.promql_sum_by.cost_usd_scheduler_job] },
  ]

  promql_sum_by = {
    for pair in setproduct(["total_tokens", "cost_usd"], ["model", "scheduler_job"]) :
    "${pair[0]}_${pair[1]}" => "sum by (${pair[1]}) (increase(${local.promql_metric[pair[0]]}_sum{monitored_resource=\"cloud_run_revision\"}[1h]))"
  }

  dashboard_tiles = concat(
    [for chart in local.dashboard_filter_charts : {
      title = chart.title
      xyChart = {
        dataSets = [{
          plotType = "LINE"
          timeSeriesQuery = {
            timeSeriesFilter = {
              filter = "metric.type=\"${local.metric_types[chart.metric]}\" resource.type=\"cloud_run_revision\""
              aggregation = {
                alignmentPeriod    = "60s"
                perSeriesAligner   = chart.aligner
                crossSeriesReducer = chart.reducer
                groupByFields      = [chart.group]
              }
            }
          }
        }]
      }
    }],
    [for chart in local.dashboard_promql_charts : {
      title = chart.title
      xyChart = {
        dataSets = [for query in chart.queries : {
          plotType        = "LINE"
          timeSeriesQuery = { prometheusQuery = query }
        }]
      }
    }],
  )

  dashboard = {
    displayName = "${var.name} prompt relay"
    mosaicLayout = {
      columns = 12
      # The API leaves zero-valued fields out of the dashboard it returns, so a literal
      # xPos = 0 / yPos = 0 would show as a change on every plan: zeros are left out here too.
      tiles = [for i, tile in local.dashboard_tiles : merge(
        { width = 6, height = 4, widget = tile },
        (i % 2) * 6 == 0 ? {} : { xPos = (i % 2) * 6 },
        floor(i / 2) * 4 == 0 ? {} : { yPos = floor(i / 2) * 4 },
      )]
    }
  }
}
