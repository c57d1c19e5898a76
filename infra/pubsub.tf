# Optional Pub/Sub path: messages on <name>-requests (data = the JSON request body) run the
# CloudEvent entry point `prompt_event` in its own function, <name>-event (functions.tf).
#
# Retention and retries: the push subscription is created and owned by the function's Eventarc
# trigger, and Eventarc sets its message retention to 24 hours (not Pub/Sub's 7-day default).
# A message that keeps failing with a retryable error is redelivered with backoff (10 s up to
# 600 s) for those 24 hours. prompt_event acknowledges permanent failures (invalid body,
# rejected request, config error) and raises only for retryable ones, so a poison message does
# not loop. To keep retrying longer, raise the subscription's retention (up to 7 days) with
#   gcloud pubsub subscriptions update SUB --message-retention-duration=7d
# (the README shows how to find SUB); that setting, like the dead-letter policy below, lives on a
# subscription Terraform does not own.
#
# Dead letters come back to the event function through a trigger of their own (below): a bulk
# item Pub/Sub gave up on is written as its final error line and counted (docs/bulk.md), with no
# further provider call; any other dead letter is logged and acknowledged there, never run.
#
# Attaching the policy: neither google_cloudfunctions2_function nor Eventarc exposes the subscription's
# dead_letter_policy (hashicorp/terraform-provider-google#17697, #25069). Of the two ways out,
# (a) an own push subscription to the function, or (b) dead-lettering on the Eventarc-created
# subscription, this module takes (b): a push subscription of its own would deliver Pub/Sub's
# push JSON, which the async CloudEvent entry point does not accept, while (b) keeps Eventarc's
# CloudEvent delivery. Terraform creates the dead-letter topic, a subscription on it (messages
# published to a topic without one are lost) and the publisher grant; attaching the policy to the
# Eventarc subscription and the subscriber grant there are one gcloud step (terraform_data
# below), re-run whenever the trigger is recreated.

resource "google_pubsub_topic" "requests" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest. A CMEK adds a KMS key ring, rotation and a grant to the Pub/Sub service agent that this single-function module does not own; messages are transient request bodies.
  count = var.enable_pubsub_trigger ? 1 : 0

  project = var.project_id
  name    = "${var.name}-requests"
  labels  = local.labels

  depends_on = [google_project_service.enabled]
}

# The function's own account may publish follow-up requests (bulk runs fan out through it).
resource "google_pubsub_topic_iam_member" "requests_runtime" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.requests[0].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest, as for the request topic: a CMEK needs a key ring and agent grant this module does not own.
  count = var.enable_pubsub_trigger ? 1 : 0

  project = var.project_id
  name    = "${var.name}-dead-letter"
  labels  = local.labels

  depends_on = [google_project_service.enabled]
}

# Keeps dead-lettered messages (7 days, the Pub/Sub maximum for a subscription) for inspection:
#   gcloud pubsub subscriptions pull <name>-dead-letter --auto-ack --limit=10
resource "google_pubsub_subscription" "dead_letter" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project                    = var.project_id
  name                       = "${var.name}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter[0].id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60
  labels                     = local.labels

  # Never expire for inactivity: dead letters are rare, so the subscription is often idle.
  expiration_policy {
    ttl = ""
  }
}

# Dead letters to the same event function, as CloudEvents: prompt_event tells them apart by the
# CloudPubSubDeadLetterSource* attributes Pub/Sub adds. Same identity as the main trigger (it may
# invoke that function only). This trigger's own subscription has no dead-letter policy: the
# function acknowledges a dead letter unless writing its outcome fails, which is retried.
resource "google_eventarc_trigger" "dead_letter" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project         = var.project_id
  location        = var.region
  name            = "${var.name}-dead-letter"
  labels          = local.labels
  service_account = google_service_account.trigger[0].email

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.pubsub.topic.v1.messagePublished"
  }

  destination {
    cloud_run_service {
      # A gen2 function is served by the Cloud Run service of the same name.
      service = google_cloudfunctions2_function.this["prompt_event"].name
      region  = google_cloudfunctions2_function.this["prompt_event"].location
    }
  }

  transport {
    pubsub {
      topic = google_pubsub_topic.dead_letter[0].id
    }
  }

  depends_on = [google_cloud_run_service_iam_member.trigger]
}

# The Pub/Sub service agent forwards undeliverable messages, so it publishes to the DLQ topic.
resource "google_pubsub_topic_iam_member" "dead_letter_agent" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.dead_letter[0].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent

  depends_on = [google_project_service_identity.agents]
}

locals {
  event_trigger_name = try(google_cloudfunctions2_function.this["prompt_event"].event_trigger[0].trigger, null)

  # Finds the Eventarc subscription, lets the Pub/Sub agent acknowledge on it (a dead-letter
  # requirement) and attaches the policy. Also printed by the output dead_letter_commands.
  dead_letter_script = var.enable_pubsub_trigger ? join("\n", [
    "set -euo pipefail",
    "SUB=$(gcloud eventarc triggers describe '${coalesce(local.event_trigger_name, "unknown")}' --format='value(transport.pubsub.subscription)')",
    "gcloud pubsub subscriptions add-iam-policy-binding \"$SUB\" --member='${local.pubsub_agent}' --role=roles/pubsub.subscriber >/dev/null",
    "gcloud pubsub subscriptions update \"$SUB\" --dead-letter-topic='${google_pubsub_topic.dead_letter[0].id}' --max-delivery-attempts=${var.dead_letter_max_delivery_attempts}",
  ]) : ""
}

resource "terraform_data" "dead_letter_policy" {
  count = var.enable_pubsub_trigger && var.attach_dead_letter_policy ? 1 : 0

  # A new trigger means a new subscription without the policy: run again.
  triggers_replace = [
    local.event_trigger_name,
    google_pubsub_topic.dead_letter[0].id,
    var.dead_letter_max_delivery_attempts,
  ]

  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = local.dead_letter_script
  }

  depends_on = [
    google_pubsub_topic_iam_member.dead_letter_agent,
    google_pubsub_subscription.dead_letter,
  ]
}
