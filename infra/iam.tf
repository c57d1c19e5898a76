# Identities and who may call what. Every grant here is on a single resource (a secret, a
# function's Cloud Run service, a topic, a service account); this module grants no project-level
# role at all.

# Runs both functions. Its only permissions are secretAccessor on each secret (secrets.tf).
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name}-fn"
  display_name = "${var.name} function runtime"
  description  = "Runtime identity of the ${var.name} functions: reads its AI Gateway secrets, nothing else."

  depends_on = [google_project_service.enabled]
}

# A gen2 function is served by a Cloud Run service of the same name, and invoking it takes
# roles/run.invoker on that service (roles/cloudfunctions.invoker is the gen1 role). This is the
# pattern of the provider's "cloudfunctions2 scheduler auth" example.
resource "google_cloud_run_service_iam_member" "invokers" {
  for_each = toset(var.invoker_members)

  project  = var.project_id
  location = google_cloudfunctions2_function.prompt.location
  service  = google_cloudfunctions2_function.prompt.name
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

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_run_service_iam_member" "scheduler" {
  count = length(local.scheduler_jobs) > 0 ? 1 : 0

  project  = var.project_id
  location = google_cloudfunctions2_function.prompt.location
  service  = google_cloudfunctions2_function.prompt.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler[0].email}"
}

# ---------------------------------------------------------------------------------------------
# Pub/Sub trigger: Eventarc pushes each message to the event function with this identity.
# ---------------------------------------------------------------------------------------------

resource "google_service_account" "trigger" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name}-evt"
  display_name = "${var.name} Pub/Sub trigger"
  description  = "Identity of the Eventarc trigger of ${var.name}-event; may invoke that function only."

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_run_service_iam_member" "trigger" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project  = var.project_id
  location = google_cloudfunctions2_function.prompt_event[0].location
  service  = google_cloudfunctions2_function.prompt_event[0].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger[0].email}"
}

data "google_project" "this" {
  count = var.enable_pubsub_trigger ? 1 : 0

  project_id = var.project_id
}

# The Pub/Sub service agent mints the OIDC token of the push subscription for the trigger
# identity. Projects whose Pub/Sub agent predates 2021-04-08 lack that permission; granting it on
# this one service account (not on the project) covers them and changes nothing for newer ones.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  count = var.enable_pubsub_trigger ? 1 : 0

  service_account_id = google_service_account.trigger[0].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this[0].number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = var.enable_pubsub_trigger ? toset(var.pubsub_publisher_members) : toset([])

  project = var.project_id
  topic   = google_pubsub_topic.requests[0].name
  role    = "roles/pubsub.publisher"
  member  = each.value
}
