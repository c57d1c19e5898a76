# Secret containers only. Values are added out of band with
#   printf %s "$TOKEN" | gcloud secrets versions add <secret> --data-file=-
# so they never pass through Terraform and never land in its state. This module deliberately
# has no google_secret_manager_secret_version resource.

locals {
  secret_ids = merge(
    { aig_token = var.aig_token_secret_id },
    var.use_openai_api_key ? { openai_api_key = var.openai_api_key_secret_id } : {},
  )
}

resource "google_secret_manager_secret" "this" {
  for_each = local.secret_ids

  project   = var.project_id
  secret_id = each.value
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [time_sleep.apis]
}

# The runtime identity may read these secrets and nothing else: bound per secret, never on the
# project.
resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each = local.secret_ids

  project   = var.project_id
  secret_id = google_secret_manager_secret.this[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
