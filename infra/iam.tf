# Identities and who may call what. Every grant here is on a single resource (a secret, a
# function's Cloud Run service, a topic, a service account). The only project-level grants in
# the module are the build account's (service_agents.tf).

# Runs both functions. Its permissions: secretAccessor on each secret (secrets.tf), publisher on
# the results topic / object creator on the results bucket when those exist (results.tf),
# publisher on the request topic and access to the bulk buckets (pubsub.tf, bulk.tf).
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name}-fn"
  display_name = "${var.name} function runtime"
  description  = "Runtime identity of the ${var.name} functions: reads its AI Gateway secrets, nothing else."

  depends_on = [time_sleep.apis]
}

# A gen2 function is served by a Cloud Run service of the same name, and invoking it takes
# roles/run.invoker on that service (roles/cloudfunctions.invoker is the gen1 role). This is the
# pattern of the provider's "cloudfunctions2 scheduler auth" example.
resource "google_cloud_run_service_iam_member" "invokers" {
  for_each = toset(var.invoker_members)

  project  = var.project_id
  location = google_cloudfunctions2_function.this["prompt"].location
  service  = google_cloudfunctions2_function.this["prompt"].name
  role     = "roles/run.invoker"
  member   = each.value
}

# ---------------------------------------------------------------------------------------------
# Cloud Scheduler: one identity for all jobs, allowed to invoke this function only.
# ---------------------------------------------------------------------------------------------

resource "google_service_account" "scheduler" {
  count = length(local.scheduler_jobs) > 0 ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name}-sched"
  display_name = "${var.name} scheduler"
  description  = "Signs the OIDC tokens of the ${var.name} Cloud Scheduler jobs; may invoke that function only."

  depends_on = [time_sleep.apis]
}

resource "google_cloud_run_service_iam_member" "scheduler" {
  count = length(local.scheduler_jobs) > 0 ? 1 : 0

  project  = var.project_id
  location = google_cloudfunctions2_function.this["prompt"].location
  service  = google_cloudfunctions2_function.this["prompt"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler[0].email}"
}

# ---------------------------------------------------------------------------------------------
# Pub/Sub path: one identity that delivers messages to <name>-event and may do nothing else. It
# signs the push subscriptions' OIDC tokens (push) or is the Eventarc trigger's identity.
# ---------------------------------------------------------------------------------------------

resource "google_service_account" "trigger" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name}-evt"
  display_name = "${var.name} Pub/Sub delivery"
  description  = "Identity in whose name Pub/Sub (push) or Eventarc delivers messages to ${var.name}-event; may invoke that function only."

  depends_on = [time_sleep.apis]
}

resource "google_cloud_run_service_iam_member" "trigger" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project  = var.project_id
  location = google_cloudfunctions2_function.this["event"].location
  service  = google_cloudfunctions2_function.this["event"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger[0].email}"
}

resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = var.enable_pubsub_trigger ? toset(var.pubsub_publisher_members) : toset([])

  project = var.project_id
  topic   = google_pubsub_topic.requests[0].name
  role    = "roles/pubsub.publisher"
  member  = each.value
}
