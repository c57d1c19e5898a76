# ---------------------------------------------------------------------------------------------
# Result delivery (results.tf)
# ---------------------------------------------------------------------------------------------

variable "enable_results_topic" {
  description = "Create the results topic <name>-results (RESULTS_TOPIC, its full projects/<p>/topics/<t> name) with a pull subscription of the same name; the function may publish to that topic only."
  type        = bool
  default     = false
}

variable "results_message_retention_days" {
  description = "Days the results pull subscription keeps an unacknowledged result (Pub/Sub allows up to 7)."
  type        = number
  default     = 7

  validation {
    condition     = var.results_message_retention_days >= 1 && var.results_message_retention_days <= 7 && floor(var.results_message_retention_days) == var.results_message_retention_days
    error_message = "results_message_retention_days must be a whole number from 1 to 7."
  }
}

variable "results_subscriber_members" {
  description = "Principals granted roles/pubsub.subscriber on the results pull subscription only. Public principals are refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.results_subscriber_members : can(regex("^(user|serviceAccount|group|domain):[^:\\s]+$|^principal(Set)?://iam[.]googleapis[.]com/\\S+$", m))])
    error_message = "results_subscriber_members must be IAM principals such as user:, serviceAccount:, group:, domain:, principal:// or principalSet://iam.googleapis.com/...; public access is not allowed."
  }
}

variable "results_bigquery_table" {
  description = "Existing BigQuery table, as project.dataset.table, that a BigQuery subscription on the results topic fills with one row per result (columns: data STRING or JSON, plus subscription_name, message_id, publish_time, attributes). Null: no BigQuery subscription."
  type        = string
  default     = null

  validation {
    condition     = var.results_bigquery_table == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9][.][A-Za-z0-9_]{1,1024}[.][A-Za-z0-9_-]{1,1024}$", var.results_bigquery_table))
    error_message = "results_bigquery_table must be project.dataset.table, e.g. my-project.prompts.results."
  }
}

variable "enable_results_bucket" {
  description = "Create the private results bucket (RESULTS_BUCKET) in which the function may create objects under results_prefix, nothing else."
  type        = bool
  default     = false
}

variable "results_bucket_name" {
  description = "Name of the results bucket. Null: <project_id>-<name>-results."
  type        = string
  default     = null

  validation {
    condition     = var.results_bucket_name == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.results_bucket_name))
    error_message = "results_bucket_name must be a valid bucket name: 3 to 63 lowercase letters, digits, dots, hyphens or underscores."
  }

  validation {
    condition     = var.results_bucket_name == null || (!startswith(coalesce(var.results_bucket_name, "x"), "goog") && !strcontains(coalesce(var.results_bucket_name, "x"), "google"))
    error_message = "results_bucket_name must not start with \"goog\" or contain \"google\"."
  }
}

variable "results_prefix" {
  description = "RESULTS_PREFIX: object name prefix of the results in the bucket."
  type        = string
  default     = "results/"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{0,256}$", var.results_prefix)) && !startswith(var.results_prefix, "/")
    error_message = "results_prefix must be at most 256 letters, digits, '.', '_', '-' or '/', not starting with '/'."
  }
}

variable "results_retention_days" {
  description = "Days a result object is kept before the bucket's lifecycle rule deletes it."
  type        = number
  default     = 30

  validation {
    condition     = var.results_retention_days >= 1 && var.results_retention_days <= 3650 && floor(var.results_retention_days) == var.results_retention_days
    error_message = "results_retention_days must be a whole number from 1 to 3650."
  }
}

variable "results_reader_members" {
  description = "Principals granted roles/storage.objectViewer on the results bucket only. Public principals are refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.results_reader_members : can(regex("^(user|serviceAccount|group|domain):[^:\\s]+$|^principal(Set)?://iam[.]googleapis[.]com/\\S+$", m))])
    error_message = "results_reader_members must be IAM principals such as user:, serviceAccount:, group:, domain:, principal:// or principalSet://iam.googleapis.com/...; public access is not allowed."
  }
}

# ---------------------------------------------------------------------------------------------
# Bulk runs (bulk.tf)
# ---------------------------------------------------------------------------------------------

variable "bulk_input_buckets" {
  description = "Existing buckets the function may read request files from (roles/storage.objectViewer on each, for the runtime account only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.bulk_input_buckets : can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", b))])
    error_message = "bulk_input_buckets entries must be bucket names (no gs:// prefix)."
  }
}

variable "bulk_output_buckets" {
  description = "Existing buckets the function may create result files in (roles/storage.objectUser on each, for the runtime account only: create, read, list, and delete its compose parts)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for b in var.bulk_output_buckets : can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", b))])
    error_message = "bulk_output_buckets entries must be bucket names (no gs:// prefix)."
  }
}
