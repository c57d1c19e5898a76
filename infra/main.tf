locals {
  labels = merge(var.labels, {
    app        = var.name
    managed-by = "terraform"
  })

  services = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
  ]

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
    "Makefile",
    "pyproject.toml",
    "requirements-dev.txt",
  ], var.source_excludes)

  source_bucket_name = coalesce(var.source_bucket_name, "${var.project_id}-${var.name}-src")
  scheduler_region   = coalesce(var.scheduler_region, var.region)

  # Settings the function reads (see CONTRACT.md). Plain values only: secrets travel as
  # Secret Manager names (runtime delivery) or as secret_environment_variables (env delivery).
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
      LOG_PROMPTS              = var.log_prompts ? "true" : "false"
    },
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

  prompt_url = google_cloudfunctions2_function.prompt.service_config[0].uri
}

resource "google_project_service" "enabled" {
  for_each = var.enable_apis ? toset(local.services) : toset([])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
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

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "source" {
  name         = "${var.name}/source-${data.archive_file.source.output_md5}.zip"
  bucket       = google_storage_bucket.source.name
  source       = data.archive_file.source.output_path
  content_type = "application/zip"
}

# ---------------------------------------------------------------------------------------------
# The HTTP function `prompt`
# ---------------------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "prompt" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = "Relays prompts to Cloudflare AI Gateway (HTTP entry point `prompt`)."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = "prompt"
    service_account = var.build_service_account

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
    timeout_seconds                  = var.timeout_seconds
    min_instance_count               = var.min_instance_count
    max_instance_count               = var.max_instance_count
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.runtime.email
    environment_variables            = local.function_env

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

  lifecycle {
    precondition {
      condition     = var.upstream_timeout_seconds < var.timeout_seconds
      error_message = "upstream_timeout_seconds must be below timeout_seconds, or the platform kills the request before the function can answer upstream_timeout."
    }
    precondition {
      condition     = var.min_instance_count <= var.max_instance_count
      error_message = "min_instance_count must not exceed max_instance_count."
    }
    precondition {
      condition     = var.max_instance_request_concurrency == 1 || tonumber(var.available_cpu) >= 1
      error_message = "max_instance_request_concurrency above 1 needs available_cpu of at least 1."
    }
    precondition {
      condition     = length(var.allowed_models) == 0 || contains(var.allowed_models, var.default_model)
      error_message = "default_model must be one of allowed_models, or requests without a model would be refused."
    }
  }

  # With env delivery the platform reads the secrets while deploying, so access must exist first.
  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.runtime,
  ]
}
