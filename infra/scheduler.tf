locals {
  # The job must wait for the function to answer: a deadline shorter than the function's own
  # timeout marks a slow but successful run as failed and retries it (a second, paid LLM call).
  default_attempt_deadline = "${min(var.timeout_seconds + 30, 1800)}s"

  scheduler_jobs = {
    for name, job in var.scheduler_jobs : name => {
      schedule         = job.schedule
      payload          = job.payload
      time_zone        = coalesce(try(job.time_zone, null), "Etc/UTC")
      description      = coalesce(try(job.description, null), "Scheduled prompt ${name} for ${var.name}")
      retry_count      = coalesce(try(job.retry_count, null), 0)
      attempt_deadline = coalesce(try(job.attempt_deadline, null), local.default_attempt_deadline)
      paused           = coalesce(try(job.paused, null), false)
      # Scheduler calls deliver their result unless the entry says otherwise; the value goes
      # into the JSON body, where the function reads it.
      deliver = coalesce(try(job.deliver, null), try(job.payload.deliver, null), true)
    }
  }
}

resource "google_cloud_scheduler_job" "prompt" {
  for_each = local.scheduler_jobs

  project          = var.project_id
  region           = local.scheduler_region
  name             = "${var.name}-${each.key}"
  description      = each.value.description
  schedule         = each.value.schedule
  time_zone        = each.value.time_zone
  paused           = each.value.paused
  attempt_deadline = each.value.attempt_deadline

  retry_config {
    retry_count = each.value.retry_count
  }

  http_target {
    http_method = "POST"
    uri         = local.prompt_url
    body        = base64encode(jsonencode(merge(each.value.payload, { deliver = each.value.deliver })))

    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.scheduler[0].email
      audience              = local.prompt_url
    }
  }

  depends_on = [
    time_sleep.apis,
    google_cloud_run_service_iam_member.scheduler,
  ]
}
