# The gen2 functions, declared once: `prompt` (HTTP, always) and, with enable_pubsub_trigger,
# <name>-event, whose entry point follows pubsub_delivery: `prompt_push` (HTTP, fed by the push
# subscriptions in pubsub.tf) or `prompt_event` (CloudEvent, fed by an Eventarc trigger). The map
# key is the role, not the entry point, so switching pubsub_delivery updates the same resource
# instead of creating a second function of the same name next to the first.

locals {
  functions = merge(
    {
      prompt = {
        name        = var.name
        entry_point = "prompt"
        description = "Relays prompts to Cloudflare AI Gateway (HTTP entry point `prompt`)."
        timeout     = var.timeout_seconds
      }
    },
    local.push ? {
      event = {
        name        = "${var.name}-event"
        entry_point = "prompt_push"
        description = "Relays prompts from Pub/Sub push subscriptions to Cloudflare AI Gateway (entry point `prompt_push`)."
        timeout     = var.event_timeout_seconds
      }
    } : {},
    local.eventarc ? {
      event = {
        name        = "${var.name}-event"
        entry_point = "prompt_event"
        description = "Relays prompts from Pub/Sub to Cloudflare AI Gateway (CloudEvent entry point `prompt_event`)."
        timeout     = var.event_timeout_seconds
      }
    } : {},
  )

  event_url = try(google_cloudfunctions2_function.this["event"].service_config[0].uri, null)
}

resource "google_cloudfunctions2_function" "this" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = each.value.name
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime         = var.runtime
    entry_point     = each.value.entry_point
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
    # The event function takes Pub/Sub pushes or Eventarc deliveries only, both internal traffic.
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

  # Eventarc path only: Eventarc creates and owns the subscription behind this trigger, keeps a
  # message 24 hours and retries with backoff meanwhile; Terraform cannot give it a dead-letter
  # topic. The push path (pubsub.tf) has no trigger here: its subscriptions are Terraform's.
  dynamic "event_trigger" {
    for_each = each.value.entry_point == "prompt_event" ? ["pubsub"] : []
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
  # for the Pub/Sub function the Pub/Sub (and Eventarc) service agents (service_agents.tf).
  depends_on = [
    time_sleep.apis,
    time_sleep.iam_propagation,
  ]
}

# Earlier addresses; `terraform apply` moves existing state (the chain ends at the current key).
moved {
  from = google_cloudfunctions2_function.prompt
  to   = google_cloudfunctions2_function.this["prompt"]
}

moved {
  from = google_cloudfunctions2_function.prompt_event[0]
  to   = google_cloudfunctions2_function.this["prompt_event"]
}

moved {
  from = google_cloudfunctions2_function.this["prompt_event"]
  to   = google_cloudfunctions2_function.this["event"]
}
