# Google-managed service agents, the build identity, and the wait for IAM to propagate.
#
# Enabling an API does not create its service agent straight away, and a fresh grant takes
# up to a few minutes to be honoured. On an empty project both race the first deploy, so the
# agents are created explicitly and every grant a deploy depends on is followed by a pause.

# Read at plan time (only cloudresourcemanager.googleapis.com is needed, which must be on before
# any apply): the project number, and with it every service agent's email, is then known in the
# plan. Ordered after the API enablement it would be read at apply time, every member built from
# it unknown, and the grants on those members planned as replacements.
data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Pub/Sub's agent signs the push tokens, forwards and publishes dead letters and writes
  # BigQuery subscriptions; Eventarc's agent creates the Eventarc trigger's subscription.
  service_agents = toset(concat(
    var.enable_pubsub_trigger ? ["pubsub.googleapis.com"] : [],
    local.eventarc ? ["eventarc.googleapis.com"] : [],
    local.results_bigquery ? ["pubsub.googleapis.com"] : [],
  ))
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project_service_identity" "agents" {
  provider = google-beta
  for_each = local.service_agents

  project = var.project_id
  service = each.value

  depends_on = [time_sleep.apis]
}

# Google's docs: only a Pub/Sub service agent created on or before 2021-04-08 lacks the
# permission to mint push tokens; for those, grant Token Creator on the trigger's account only.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  count = var.enable_pubsub_trigger && var.pubsub_agent_predates_2021_04_08 ? 1 : 0

  service_account_id = google_service_account.trigger[0].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent

  depends_on = [google_project_service_identity.agents]
}

# ---------------------------------------------------------------------------------------------
# Build identity (build_identity): Cloud Build runs the function build as this account.
# ---------------------------------------------------------------------------------------------

locals {
  build_service_account = (
    var.build_identity == "dedicated" ? google_service_account.build[0].id :
    var.build_identity == "external" ? var.build_service_account : null
  )

  # The least roles a dedicated build account needs for a Cloud Functions build: write build
  # logs, push the image, read the source zip (and the build cache objects it writes).
  dedicated_build_roles = var.build_identity == "dedicated" ? toset([
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    "roles/storage.objectAdmin",
  ]) : toset([])
}

resource "google_service_account" "build" {
  count = var.build_identity == "dedicated" ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name}-build"
  display_name = "${var.name} build"
  description  = "Cloud Build identity of the ${var.name} function builds."

  depends_on = [time_sleep.apis]
}

# These are project-level by nature: Cloud Build writes logs and images at project scope. They
# are the only project-level grants in the module, and only for its own build account.
resource "google_project_iam_member" "build" {
  for_each = local.dedicated_build_roles

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build[0].email}"
}

# Deploying a function that builds as another account takes actAs on that account.
resource "google_service_account_iam_member" "build_users" {
  for_each = var.build_identity == "dedicated" ? toset(var.deployer_members) : toset([])

  service_account_id = google_service_account.build[0].name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# build_identity = "default": the platform's default build account (the Compute Engine default
# account on projects created since mid-2024) gets the one role Google's Cloud Functions docs
# name for it.
resource "google_project_iam_member" "default_build" {
  count = var.build_identity == "default" ? 1 : 0

  project = var.project_id
  role    = "roles/cloudbuild.builds.builder"
  member  = "serviceAccount:${data.google_project.this.number}-compute@developer.gserviceaccount.com"

  # That account is created when the Compute Engine API is enabled (main.tf adds it to the API
  # list for this case); granting to it earlier fails.
  depends_on = [time_sleep.apis]
}

# ---------------------------------------------------------------------------------------------
# One pause after every grant the functions depend on (build, secrets, service agents, sinks),
# and that the BigQuery subscription depends on: Pub/Sub checks the agent's access to the table
# when the subscription is created.
# ---------------------------------------------------------------------------------------------

resource "time_sleep" "iam_propagation" {
  create_duration = var.iam_propagation_wait

  # Re-wait whenever a grant set changes, not only on first create.
  triggers = {
    build    = join(",", sort(concat(tolist(local.dedicated_build_roles), var.build_identity == "default" ? ["default"] : [])))
    secrets  = join(",", sort(keys(local.secret_ids)))
    agents   = join(",", sort(tolist(local.service_agents)))
    bigquery = local.results_bigquery ? var.results_bigquery_table : ""
  }

  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.default_build,
    google_service_account_iam_member.build_users,
    google_secret_manager_secret_iam_member.runtime,
    google_project_service_identity.agents,
    google_service_account_iam_member.pubsub_token_creator,
    google_pubsub_topic_iam_member.results_runtime,
    google_storage_bucket_iam_member.results_runtime,
    google_storage_bucket_iam_member.bulk_input,
    google_storage_bucket_iam_member.bulk_output,
    google_bigquery_table_iam_member.results_agent,
  ]
}
