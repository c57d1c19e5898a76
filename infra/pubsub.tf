# Optional Pub/Sub path (enable_pubsub_trigger): messages on <name>-requests (data = the JSON
# request body) run in their own function, <name>-event (functions.tf).
#
# pubsub_delivery = "push" (default), Google's recommended direct Pub/Sub trigger: a push
# subscription this module owns, pointed at the function's run.app URL (entry point
# `prompt_push`), so every setting of it is Terraform's and none is hidden:
#   - OIDC token of <name>-evt, the only account with run.invoker on <name>-event (iam.tf);
#   - ack deadline = event_timeout_seconds: Pub/Sub waits as long as the function may run;
#   - retention pubsub_message_retention_days (7 by default), retry backoff 10 s to 600 s;
#   - dead_letter_max_delivery_attempts deliveries, then the dead-letter topic. A second push
#     subscription delivers each dead letter once to the same function, which knows it by the
#     CloudPubSubDeadLetterSource* attributes and never runs it: a bulk item is written as its
#     final error line (docs/bulk.md), anything else is logged and acknowledged. A pull
#     subscription keeps every dead letter 7 days for inspection.
# The function answers 2xx when a message is finished (done, or failed for good) and 5xx when
# it should come again. Replacing the function does not touch the subscriptions: messages
# published meanwhile wait in them and are pushed once the URL answers.
#
# pubsub_delivery = "eventarc": an Eventarc trigger on the function (functions.tf) delivers
# CloudEvents to `prompt_event`. Eventarc creates and owns that subscription: 24-hour retention,
# and no dead-letter policy, which neither the function nor the Eventarc resource lets Terraform
# set (hashicorp/terraform-provider-google issues 17697 and 25069). A message that keeps failing
# is retried for 24 hours and then dropped; recreating the trigger recreates its subscription,
# and what was published in between is lost.

locals {
  # Pub/Sub's own bounds: backoff 0 to 600 s, ack deadline 10 to 600 s.
  push_backoff = { minimum = "10s", maximum = "600s" }
  push_ack     = max(10, min(600, var.event_timeout_seconds))
  push_subscriptions = local.push ? {
    requests    = { name = "${var.name}-requests", topic = google_pubsub_topic.requests[0].id }
    dead_letter = { name = "${var.name}-dead-letter-push", topic = google_pubsub_topic.dead_letter[0].id }
  } : {}
}

resource "google_pubsub_topic" "requests" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest. A CMEK adds a KMS key ring, rotation and a grant to the Pub/Sub service agent that this single-function module does not own; messages are transient request bodies.
  count = var.enable_pubsub_trigger ? 1 : 0

  project = var.project_id
  name    = "${var.name}-requests"
  labels  = local.labels

  depends_on = [time_sleep.apis]
}

# The function's own account may publish follow-up requests (bulk runs fan out through it).
resource "google_pubsub_topic_iam_member" "requests_runtime" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.requests[0].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# Both push subscriptions: the requests and, without a dead-letter policy of its own, the dead
# letters. Same function, same identity, same deadlines.
resource "google_pubsub_subscription" "push" {
  for_each = local.push_subscriptions

  project                    = var.project_id
  name                       = each.value.name
  topic                      = each.value.topic
  ack_deadline_seconds       = local.push_ack
  message_retention_duration = "${var.pubsub_message_retention_days * 86400}s"
  labels                     = local.labels

  push_config {
    push_endpoint = local.event_url

    oidc_token {
      service_account_email = google_service_account.trigger[0].email
      audience              = local.event_url
    }
  }

  retry_policy {
    minimum_backoff = local.push_backoff.minimum
    maximum_backoff = local.push_backoff.maximum
  }

  dynamic "dead_letter_policy" {
    for_each = each.key == "requests" ? [google_pubsub_topic.dead_letter[0].id] : []
    content {
      dead_letter_topic     = dead_letter_policy.value
      max_delivery_attempts = var.dead_letter_max_delivery_attempts
    }
  }

  # Never expire for inactivity: a quiet topic must not lose its subscription.
  expiration_policy {
    ttl = ""
  }

  # Pushes start as soon as this exists; until the invoker (and, for old Pub/Sub agents, token
  # creator) grants have propagated they fail and are retried with the backoff above, well
  # inside the delivery attempts.
  depends_on = [
    google_cloud_run_service_iam_member.trigger,
    google_service_account_iam_member.pubsub_token_creator,
  ]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest, as for the request topic: a CMEK needs a key ring and agent grant this module does not own.
  count = local.push ? 1 : 0

  project = var.project_id
  name    = "${var.name}-dead-letter"
  labels  = local.labels

  depends_on = [time_sleep.apis]
}

# Keeps dead-lettered messages (7 days, the Pub/Sub maximum for a subscription) for inspection:
#   gcloud pubsub subscriptions pull <name>-dead-letter --auto-ack --limit=10
resource "google_pubsub_subscription" "dead_letter" {
  count = local.push ? 1 : 0

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

# Dead-lettering needs two grants to the Pub/Sub service agent: publisher on the dead-letter
# topic (it forwards the message) and subscriber on the source subscription (it acknowledges
# the message there).
resource "google_pubsub_topic_iam_member" "dead_letter_agent" {
  count = local.push ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.dead_letter[0].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent

  depends_on = [google_project_service_identity.agents]
}

resource "google_pubsub_subscription_iam_member" "dead_letter_agent" {
  count = local.push ? 1 : 0

  project      = var.project_id
  subscription = google_pubsub_subscription.push["requests"].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent

  depends_on = [google_project_service_identity.agents]
}
