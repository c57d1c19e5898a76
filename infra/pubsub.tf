# Optional Pub/Sub path: messages on <name>-requests (data = the JSON request body) run the
# CloudEvent entry point `prompt_event` in its own function, <name>-event.
#
# Dead letters: the push subscription is created and owned by the function's Eventarc trigger,
# and neither google_cloudfunctions2_function nor Eventarc exposes its dead_letter_policy, so this
# module sets none (the README shows how to add one by hand). Poison messages cannot loop anyway:
# prompt_event acknowledges permanent failures (invalid body, rejected request, config error) and
# raises only for retryable ones, which Pub/Sub redelivers with backoff until the message's
# retention (7 days by default) runs out.

resource "google_pubsub_topic" "requests" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest. A CMEK adds a KMS key ring, rotation and a grant to the Pub/Sub service agent that this single-function module does not own; messages are transient request bodies.
  count = var.enable_pubsub_trigger ? 1 : 0

  project = var.project_id
  name    = "${var.name}-requests"
  labels  = local.labels

  depends_on = [google_project_service.enabled]
}

resource "google_cloudfunctions2_function" "prompt_event" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project     = var.project_id
  location    = var.region
  name        = "${var.name}-event"
  description = "Relays prompts from Pub/Sub to Cloudflare AI Gateway (CloudEvent entry point `prompt_event`)."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = "prompt_event"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  # Ingress: event deliveries are internal traffic, and nothing else needs to reach this service.
  service_config {
    available_cpu                    = var.available_cpu
    available_memory                 = var.available_memory
    max_instance_request_concurrency = var.max_instance_request_concurrency
    timeout_seconds                  = var.event_timeout_seconds
    min_instance_count               = var.min_instance_count
    max_instance_count               = var.max_instance_count
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.runtime.email
    environment_variables            = local.function_env

    dynamic "secret_environment_variables" {
      for_each = local.function_secret_env
      content {
        key        = secret_environment_variables.value.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.requests[0].id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger[0].email
  }

  lifecycle {
    precondition {
      condition     = var.upstream_timeout_seconds < var.event_timeout_seconds
      error_message = "upstream_timeout_seconds must be below event_timeout_seconds, or a slow upstream call is killed mid-flight and redelivered."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.runtime,
  ]
}
