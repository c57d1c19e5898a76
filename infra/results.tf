# Where results go (the request field `deliver`; scheduler calls deliver unless it is false):
# a results topic with a pull subscription (and optionally a BigQuery subscription that writes
# each result as a row), and a private results bucket. The function gets RESULTS_TOPIC,
# RESULTS_BUCKET and RESULTS_PREFIX, and the least role on each resource, never on the project.

locals {
  results_bigquery = var.enable_results_topic && var.results_bigquery_table != null
  # "project.dataset.table", the form the BigQuery subscription takes.
  results_bigquery_parts = local.results_bigquery ? split(".", var.results_bigquery_table) : []

  results_bucket_name = coalesce(var.results_bucket_name, "${var.project_id}-${var.name}-results")

  results_env = merge(
    var.enable_results_topic ? { RESULTS_TOPIC = google_pubsub_topic.results[0].id } : {},
    var.enable_results_bucket ? {
      RESULTS_BUCKET = google_storage_bucket.results[0].name
      RESULTS_PREFIX = var.results_prefix
    } : {},
  )
}

# ---------------------------------------------------------------------------------------------
# Results topic
# ---------------------------------------------------------------------------------------------

resource "google_pubsub_topic" "results" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest, as for the request topic: a CMEK needs a key ring and agent grant this module does not own.
  count = var.enable_results_topic ? 1 : 0

  project = var.project_id
  name    = "${var.name}-results"
  labels  = local.labels

  depends_on = [time_sleep.apis]
}

resource "google_pubsub_topic_iam_member" "results_runtime" {
  count = var.enable_results_topic ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.results[0].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# Read results with: gcloud pubsub subscriptions pull <name>-results --auto-ack --limit=10
resource "google_pubsub_subscription" "results" {
  count = var.enable_results_topic ? 1 : 0

  project                    = var.project_id
  name                       = "${var.name}-results"
  topic                      = google_pubsub_topic.results[0].id
  message_retention_duration = "${var.results_message_retention_days * 86400}s"
  ack_deadline_seconds       = 60
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription_iam_member" "results_readers" {
  for_each = var.enable_results_topic ? toset(var.results_subscriber_members) : toset([])

  project      = var.project_id
  subscription = google_pubsub_subscription.results[0].name
  role         = "roles/pubsub.subscriber"
  member       = each.value
}

# Each message becomes one row: `data` holds the result JSON, and the metadata columns
# (subscription_name, message_id, publish_time, attributes) come along. The table must exist
# with those columns; the README shows its schema.
resource "google_pubsub_subscription" "results_bigquery" {
  count = local.results_bigquery ? 1 : 0

  project = var.project_id
  name    = "${var.name}-results-bq"
  topic   = google_pubsub_topic.results[0].id
  labels  = local.labels

  bigquery_config {
    table          = var.results_bigquery_table
    write_metadata = true
  }

  # Created only once the agent's dataEditor grant has propagated: Pub/Sub refuses to create a
  # BigQuery subscription whose agent cannot write the table yet.
  depends_on = [time_sleep.iam_propagation]
}

# The Pub/Sub service agent writes the rows: dataEditor on that one table.
resource "google_bigquery_table_iam_member" "results_agent" {
  count = local.results_bigquery ? 1 : 0

  project    = local.results_bigquery_parts[0]
  dataset_id = local.results_bigquery_parts[1]
  table_id   = local.results_bigquery_parts[2]
  role       = "roles/bigquery.dataEditor"
  member     = local.pubsub_agent

  depends_on = [google_project_service_identity.agents]
}

# ---------------------------------------------------------------------------------------------
# Results bucket
# ---------------------------------------------------------------------------------------------

resource "google_storage_bucket" "results" {
  #checkov:skip=CKV_GCP_62:Access logging is wired to var.access_log_bucket and on whenever it is set; object reads by the readers are in Data Access audit logs when enabled.
  count = var.enable_results_bucket ? 1 : 0

  project                     = var.project_id
  name                        = local.results_bucket_name
  location                    = var.region
  force_destroy               = false
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  # Results expire after results_retention_days; an overwritten version goes a day later.
  lifecycle_rule {
    condition {
      age = var.results_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 1
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  dynamic "logging" {
    for_each = var.access_log_bucket == null ? [] : [var.access_log_bucket]
    content {
      log_bucket        = logging.value
      log_object_prefix = local.results_bucket_name
    }
  }

  depends_on = [time_sleep.apis]
}

# storage.objectCreator: create objects only, no read, list, overwrite or delete. Results are
# written create-only (if_generation_match=0): an object that exists already means the result
# was delivered, so a redelivered message or a repeated request_id neither needs nor gets the
# right to overwrite it, and nothing in the function can read or delete a stored result.
resource "google_storage_bucket_iam_member" "results_runtime" {
  count = var.enable_results_bucket ? 1 : 0

  bucket = google_storage_bucket.results[0].name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "results_readers" {
  for_each = var.enable_results_bucket ? toset(var.results_reader_members) : toset([])

  bucket = google_storage_bucket.results[0].name
  role   = "roles/storage.objectViewer"
  member = each.value
}
