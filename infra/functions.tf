# The two gen2 functions, declared once: `prompt` (HTTP, always) and `prompt_event` (Pub/Sub via
# an Eventarc trigger, with enable_pubsub_trigger). The map key is the entry point.

locals {
  functions = merge(
    {
      prompt = {
        name        = var.name
        description = "Relays prompts to Cloudflare AI Gateway (HTTP entry point `prompt`)."
        timeout     = var.timeout_seconds
      }
    },
    var.enable_pubsub_trigger ? {
      prompt_event = {
        name        = "${var.name}-event"
        description = "Relays prompts from Pub/Sub to Cloudflare AI Gateway (CloudEvent entry point `prompt_event`)."
        timeout     = var.event_timeout_seconds
      }
    } : {},
  )
}

resource "google_cloudfunctions2_function" "this" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = each.value.name
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = each.key
    service_account = local.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_cpu                    = var.available_cpu
    available_memory                 = var.available_memory
    max_instance_request_concurrency = var.max_instance_request_concurrency
    timeout_seconds                  = each.value.timeout
    min_instance_count               = var.min_instance_count
    max_instance_count               = var.max_instance_count
    # The event function takes Eventarc deliveries only, which are internal traffic.
    ingress_settings               = each.key == "prompt" ? var.ingress_settings : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.runtime.email
    environment_variables          = local.function_env

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

  # Retries: Eventarc's subscription keeps a message 24 hours (not Pub/Sub's 7-day default), so
  # a message that keeps failing with a retryable error is redelivered with backoff for a day,
  # then goes to the dead-letter topic (pubsub.tf) or, without one, is dropped.
  dynamic "event_trigger" {
    for_each = each.key == "prompt_event" ? ["pubsub"] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.requests[0].id
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.trigger[0].email
    }
  }

  lifecycle {
    precondition {
      condition     = var.upstream_timeout_seconds < each.value.timeout
      error_message = "upstream_timeout_seconds must be below the function's timeout (timeout_seconds, or event_timeout_seconds for the Pub/Sub function), or the platform kills the request before the function can answer upstream_timeout."
    }
    precondition {
      condition     = var.build_identity != "external" || var.build_service_account != null
      error_message = "build_identity = \"external\" needs build_service_account (projects/<project>/serviceAccounts/<email>)."
    }
    precondition {
      condition     = var.min_instance_count <= var.max_instance_count
      error_message = "min_instance_count must not exceed max_instance_count."
    }
    precondition {
      condition     = local.cpu_memory_ok
      error_message = local.cpu_memory_rule
    }
    precondition {
      condition     = var.max_instance_request_concurrency == 1 || local.cpu >= 1
      error_message = "max_instance_request_concurrency above 1 needs available_cpu of at least 1."
    }
    precondition {
      condition     = length(var.allowed_models) == 0 || contains(var.allowed_models, var.default_model)
      error_message = "default_model must be one of allowed_models, or requests without a model would be refused."
    }
  }

  # The build and the first instance start need their grants to have propagated: the build
  # account's roles, the secret-accessor grants (env delivery reads secrets at deploy time), and
  # for the Pub/Sub function the Eventarc and Pub/Sub service agents (service_agents.tf).
  depends_on = [
    google_project_service.enabled,
    time_sleep.iam_propagation,
  ]
}

# Addresses before the function was declared once; `terraform apply` moves existing state.
moved {
  from = google_cloudfunctions2_function.prompt
  to   = google_cloudfunctions2_function.this["prompt"]
}

moved {
  from = google_cloudfunctions2_function.prompt_event[0]
  to   = google_cloudfunctions2_function.this["prompt_event"]
}
