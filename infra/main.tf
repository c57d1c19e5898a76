locals {
  labels = merge(var.labels, {
    app        = var.name
    managed-by = "terraform"
  })

  # Every API the resources below use. Eventarc only for the Eventarc delivery path; Compute
  # Engine only when builds run as its default account, which exists only with that API on.
  services = concat(
    [
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "cloudscheduler.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "monitoring.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com",
      "secretmanager.googleapis.com",
      "storage.googleapis.com",
    ],
    local.eventarc ? ["eventarc.googleapis.com"] : [],
    var.build_identity == "default" ? ["compute.googleapis.com"] : [],
  )

  # The Pub/Sub path (pubsub.tf): a push subscription of our own, or an Eventarc trigger.
  push     = var.enable_pubsub_trigger && var.pubsub_delivery == "push"
  eventarc = var.enable_pubsub_trigger && var.pubsub_delivery == "eventarc"

  # Buckets bulk runs may name (BULK_BUCKETS): exactly those granted in bulk.tf.
  bulk_buckets = sort(distinct(concat(var.bulk_input_buckets, var.bulk_output_buckets)))

  # Everything in the repository that is not the function itself: dev tooling, tests, local
  # stand-ins, caches and this folder. Cloud Functions installs requirements.txt only.
  source_excludes = concat([
    ".git",
    ".github",
    ".gitignore",
    ".ci",
    ".run",
    ".venv",
    ".venv-*",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "**/__pycache__",
    "**/*.pyc",
    "**/.DS_Store",
    "*.zip",
    "tests",
    "bench",
    "infra",
    "emulators",
    "examples",
    "docs",
    "Makefile",
    "pyproject.toml",
    "requirements-dev.txt",
  ], var.source_excludes)

  source_bucket_name = coalesce(var.source_bucket_name, "${var.project_id}-${var.name}-src")
  scheduler_region   = coalesce(var.scheduler_region, var.region)

  # Settings the function reads (see the repository README.md and openapi.yaml). Plain values
  # only: secrets travel as Secret Manager names (runtime delivery) or as
  # secret_environment_variables (env delivery).
  function_env = merge(
    var.extra_environment_variables,
    {
      GOOGLE_CLOUD_PROJECT     = var.project_id
      AIG_ACCOUNT_ID           = var.aig_account_id
      AIG_GATEWAY_ID           = var.aig_gateway_id
      SECRET_CACHE_TTL_SECONDS = tostring(var.secret_cache_ttl_seconds)
      DEFAULT_API              = var.default_api
      DEFAULT_MODEL            = var.default_model
      UPSTREAM_TIMEOUT_SECONDS = tostring(var.upstream_timeout_seconds)
      MAX_RETRIES              = tostring(var.max_retries)
      MAX_BODY_BYTES           = tostring(var.max_body_bytes)
      BATCH_MAX_ITEMS          = tostring(var.batch_max_items)
      BATCH_CONCURRENCY        = tostring(var.batch_concurrency)
      LOG_PROMPTS              = var.log_prompts ? "true" : "false"
    },
    local.results_env,
    # Bulk runs fan out on the request topic (docs/bulk.md); the runtime account may publish to it.
    var.enable_pubsub_trigger ? { BULK_TOPIC = google_pubsub_topic.requests[0].id } : {},
    length(local.bulk_buckets) > 0 ? { BULK_BUCKETS = join(",", local.bulk_buckets) } : {},
    # Unset (rather than empty) means "any model".
    length(var.allowed_models) > 0 ? { ALLOWED_MODELS = join(",", var.allowed_models) } : {},
    var.secret_delivery == "runtime" ? { AIG_TOKEN_SECRET = google_secret_manager_secret.this["aig_token"].id } : {},
    var.secret_delivery == "runtime" && var.use_openai_api_key ? { OPENAI_API_KEY_SECRET = google_secret_manager_secret.this["openai_api_key"].id } : {},
  )

  # env delivery: the platform resolves these once per instance start, so the version is pinned.
  function_secret_env = var.secret_delivery == "env" ? concat(
    [{ key = "AIG_TOKEN", secret = google_secret_manager_secret.this["aig_token"].secret_id, version = var.aig_token_secret_version }],
    var.use_openai_api_key ? [{ key = "OPENAI_API_KEY", secret = google_secret_manager_secret.this["openai_api_key"].secret_id, version = var.openai_api_key_secret_version }] : [],
  ) : []

  prompt_url = google_cloudfunctions2_function.this["prompt"].service_config[0].uri
}

resource "google_project_service" "enabled" {
  for_each = var.enable_apis ? toset(local.services) : toset([])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# An API reported enabled is not always usable at once (the provider's google_project_service
# guide says as much): everything that calls one waits for this, not for the enable itself.
resource "time_sleep" "apis" {
  count = var.enable_apis ? 1 : 0

  create_duration = var.api_enable_wait

  # Waits again when an API is added, not on every apply.
  triggers = {
    services = join(",", sort(local.services))
  }

  depends_on = [google_project_service.enabled]
}

# ---------------------------------------------------------------------------------------------
# Source: zip the repository root, upload it under a name carrying the zip's MD5 so any code
# change is a new object and therefore a new build.
# ---------------------------------------------------------------------------------------------

# output_file_mode: the same bytes (and MD5) on every machine, whatever the checkout's file modes.
data "archive_file" "source" {
  type             = "zip"
  source_dir       = "${path.module}/.."
  output_path      = "${path.module}/build/function-source.zip"
  excludes         = local.source_excludes
  output_file_mode = "0644"
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Access logging is wired to var.access_log_bucket and on whenever it is set; the bucket holds only build inputs rebuilt from git, and admin access is in Cloud Audit Logs either way.
  project                     = var.project_id
  name                        = local.source_bucket_name
  location                    = var.region
  force_destroy               = var.source_bucket_force_destroy
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  # A new zip replaces the old object (its name changes with the MD5), which leaves the old one
  # noncurrent; noncurrent versions are deleted after the retention period. Live objects stay.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.source_noncurrent_retention_days
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
      log_object_prefix = local.source_bucket_name
    }
  }

  depends_on = [time_sleep.apis]
}

resource "google_storage_bucket_object" "source" {
  name         = "${var.name}/source-${data.archive_file.source.output_md5}.zip"
  bucket       = google_storage_bucket.source.name
  source       = data.archive_file.source.output_path
  content_type = "application/zip"
}
