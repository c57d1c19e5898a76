# ---------------------------------------------------------------------------------------------
# Project and naming
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project ID that hosts every resource of this module."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6 to 30 lowercase letters, digits or hyphens, starting with a letter), not a project number or display name."
  }
}

variable "region" {
  description = "Region of the functions, the Eventarc trigger and (unless scheduler_region is set) the Scheduler jobs, e.g. us-central1."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west4."
  }
}

variable "name" {
  description = "Base name: the HTTP function is called <name>, the Pub/Sub function <name>-event, service accounts <name>-fn / <name>-sched / <name>-evt."
  type        = string
  default     = "aig-prompt"

  validation {
    # 24 characters leaves room for the longest service-account suffix ("-sched") within the
    # 30-character account_id limit.
    condition     = can(regex("^[a-z][a-z0-9-]{2,22}[a-z0-9]$", var.name))
    error_message = "name must be 4 to 24 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen."
  }

  validation {
    # Topic, subscription and bucket names derive from it, and Google refuses those that start
    # with "goog" or contain "google".
    condition     = !startswith(var.name, "goog") && !strcontains(var.name, "google")
    error_message = "name must not start with \"goog\" or contain \"google\": Pub/Sub and Cloud Storage refuse such names."
  }
}

variable "labels" {
  description = "Labels added to every labelled resource (functions, bucket, secrets, topic)."
  type        = map(string)
  default     = {}
}

variable "enable_apis" {
  description = "Enable the required Google APIs with google_project_service. Set false when another stack owns the project's API list."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Source upload
# ---------------------------------------------------------------------------------------------

variable "source_bucket_name" {
  description = "Name of the bucket created for the zipped function source. Null: <project_id>-<name>-src."
  type        = string
  default     = null

  validation {
    condition     = var.source_bucket_name == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.source_bucket_name))
    error_message = "source_bucket_name must be a valid bucket name: 3 to 63 lowercase letters, digits, dots, hyphens or underscores."
  }

  validation {
    condition     = var.source_bucket_name == null || (!startswith(coalesce(var.source_bucket_name, "x"), "goog") && !strcontains(coalesce(var.source_bucket_name, "x"), "google"))
    error_message = "source_bucket_name must not start with \"goog\" or contain \"google\"."
  }
}

variable "source_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the source bucket with its objects. The objects are build inputs that can always be zipped again from git."
  type        = bool
  default     = true
}

variable "source_noncurrent_retention_days" {
  description = "Days a replaced source zip (a noncurrent object version) is kept before the lifecycle rule deletes it."
  type        = number
  default     = 30

  validation {
    condition     = var.source_noncurrent_retention_days >= 1 && var.source_noncurrent_retention_days <= 3650 && floor(var.source_noncurrent_retention_days) == var.source_noncurrent_retention_days
    error_message = "source_noncurrent_retention_days must be a whole number from 1 to 3650."
  }
}

variable "access_log_bucket" {
  description = "Existing bucket that receives usage/access logs of the source bucket. Null: no bucket access logs (Cloud Audit Logs still record admin activity)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be a bucket name (no gs:// prefix)."
  }
}

variable "source_excludes" {
  description = "Extra glob patterns (relative to the repository root) left out of the uploaded zip, on top of the built-in list of dev-only paths."
  type        = list(string)
  default     = []
}

variable "build_identity" {
  description = "Who Cloud Build runs the function builds as. dedicated (default): a new account <name>-build with roles/logging.logWriter, roles/artifactregistry.writer and roles/storage.objectAdmin on the project, and roles/iam.serviceAccountUser on it for deployer_members. default: the platform's default build account (the Compute Engine default account on projects created since mid-2024) gets roles/cloudbuild.builds.builder on the project. external: build_service_account, with its roles granted outside this module."
  type        = string
  default     = "dedicated"

  validation {
    condition     = contains(["dedicated", "default", "external"], var.build_identity)
    error_message = "build_identity must be \"dedicated\", \"default\" or \"external\"."
  }
}

variable "build_service_account" {
  description = "With build_identity = \"external\" only: the build account as projects/<project>/serviceAccounts/<email>. It needs logging.logWriter, artifactregistry.writer and storage.objectAdmin, and the deployer needs iam.serviceAccountUser on it."
  type        = string
  default     = null

  validation {
    condition     = var.build_service_account == null || can(regex("^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$", var.build_service_account))
    error_message = "build_service_account must be a full resource name: projects/<project>/serviceAccounts/<email>."
  }
}

variable "deployer_members" {
  description = "With build_identity = \"dedicated\": principals that run terraform apply and so need actAs (roles/iam.serviceAccountUser) on the build account, e.g. [\"serviceAccount:ci@p.iam.gserviceaccount.com\"]. Owners and Editors already have it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.deployer_members : can(regex("^(user|serviceAccount|group|domain):[^:\\s]+$|^principal(Set)?://iam[.]googleapis[.]com/\\S+$", m))])
    error_message = "deployer_members must be IAM principals such as user:, serviceAccount:, group:, domain:, principal:// or principalSet://iam.googleapis.com/...; public access is not allowed."
  }
}

variable "iam_propagation_wait" {
  description = "Pause after the grants the functions depend on (build roles, secret access, service agents) before deploying them: IAM changes take up to a few minutes to apply everywhere."
  type        = string
  default     = "90s"

  validation {
    condition     = can(regex("^[0-9]+[sm]$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a duration in seconds or minutes, such as \"90s\" or \"2m\"."
  }
}

variable "api_enable_wait" {
  description = "Pause after google_project_service enables the APIs (enable_apis) and before anything uses them: an API reported enabled is not always usable at once. Only on first enable or when the API list changes."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^[0-9]+[sm]$", var.api_enable_wait))
    error_message = "api_enable_wait must be a duration in seconds or minutes, such as \"60s\" or \"1m\"."
  }
}

variable "runtime" {
  description = "Cloud Run functions Python runtime of both functions: python311, python312 or python313. The default, python313, is the newest the functions run on and the one `make test` runs the unit-level tests on (the full suite runs on the python3 of the test machine, 3.11 or newer)."
  type        = string
  default     = "python313"

  validation {
    condition     = contains(["python311", "python312", "python313"], var.runtime)
    error_message = "runtime must be python311, python312 or python313 (the code needs Python 3.11 or newer)."
  }
}

# ---------------------------------------------------------------------------------------------
# Function sizing (see README: the function is async, one instance holds many calls in flight)
# ---------------------------------------------------------------------------------------------

variable "available_cpu" {
  description = "vCPUs per instance. Concurrency above 1 needs at least 1 vCPU."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.available_cpu)) && try(tonumber(var.available_cpu) >= 0.08 && tonumber(var.available_cpu) <= 8, false)
    error_message = "available_cpu must be a number of vCPUs from 0.08 to 8, written as a string (\"1\", \"2\", \"0.5\")."
  }
}

variable "available_memory" {
  description = "Memory per instance, with a unit (e.g. 512Mi, 1Gi). Must pair with available_cpu by Cloud Run's rules: below 1 vCPU, more than 512Mi needs 0.5 and more than 1Gi needs 1; 4 vCPU needs 2Gi, 6 or 8 vCPU 4Gi; more than 4Gi needs 2 vCPU, 8Gi 4, 16Gi 6, 24Gi 8; 128Mi to 32Gi."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[1-9][0-9]*(Mi|Gi|M|G)$", var.available_memory))
    error_message = "available_memory must be a whole number followed by Mi, Gi, M or G (e.g. 512Mi)."
  }
}

variable "max_instance_request_concurrency" {
  description = "Requests one instance serves at once. The async function keeps them all in flight; Cloud Run allows at most 1000."
  type        = number
  default     = 250

  validation {
    condition     = var.max_instance_request_concurrency >= 1 && var.max_instance_request_concurrency <= 1000 && floor(var.max_instance_request_concurrency) == var.max_instance_request_concurrency
    error_message = "max_instance_request_concurrency must be a whole number from 1 to 1000."
  }
}

variable "timeout_seconds" {
  description = "Request timeout of the HTTP function. LLM calls are slow; keep it above upstream_timeout_seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number from 1 to 3600 (the gen2 limit for HTTP functions)."
  }
}

variable "event_timeout_seconds" {
  description = "Timeout of the Pub/Sub-fed function <name>-event (only with enable_pubsub_trigger). With pubsub_delivery = \"push\" it is also the push subscriptions' ack deadline (at least 10 s), so Pub/Sub waits exactly as long as the function may run."
  type        = number
  default     = 300

  validation {
    condition     = var.event_timeout_seconds >= 1 && var.event_timeout_seconds <= 540 && floor(var.event_timeout_seconds) == var.event_timeout_seconds
    error_message = "event_timeout_seconds must be a whole number from 1 to 540 (the gen2 limit for event-triggered functions, and below Pub/Sub's 600-second ack deadline limit)."
  }
}

variable "min_instance_count" {
  description = "Instances kept warm. 0 scales to zero (a cold start costs a few seconds on the first request)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instance_count >= 0 && var.min_instance_count <= 1000 && floor(var.min_instance_count) == var.min_instance_count
    error_message = "min_instance_count must be a whole number from 0 to 1000."
  }
}

variable "max_instance_count" {
  description = "Upper bound on instances per function: with max_instance_request_concurrency it caps the calls in flight (and the spend)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instance_count >= 1 && var.max_instance_count <= 1000 && floor(var.max_instance_count) == var.max_instance_count
    error_message = "max_instance_count must be a whole number from 1 to 1000."
  }
}

# ---------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------

variable "ingress_settings" {
  description = "Network ingress of the HTTP function: ALLOW_INTERNAL_ONLY (default; same-project VPC, Scheduler, Pub/Sub, Eventarc), ALLOW_INTERNAL_AND_GCLB (plus a load balancer) or ALLOW_ALL (internet; IAM still required)."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB", "ALLOW_ALL"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_INTERNAL_ONLY, ALLOW_INTERNAL_AND_GCLB or ALLOW_ALL."
  }
}

variable "invoker_members" {
  description = "Principals granted roles/run.invoker on the HTTP function only, e.g. [\"serviceAccount:caller@p.iam.gserviceaccount.com\", \"group:team@example.com\"]. Public principals are refused."
  type        = list(string)
  default     = []

  validation {
    # An allow-list of prefixes: the two public principals carry no "type:" prefix, so they
    # can never match, and neither can a typo.
    condition     = alltrue([for m in var.invoker_members : can(regex("^(user|serviceAccount|group|domain):[^:\\s]+$|^principal(Set)?://iam[.]googleapis[.]com/\\S+$", m))])
    error_message = "invoker_members must be IAM principals such as user:, serviceAccount:, group:, domain:, principal:// or principalSet://iam.googleapis.com/...; public access is not allowed."
  }
}

variable "pubsub_publisher_members" {
  description = "Principals granted roles/pubsub.publisher on the request topic only (with enable_pubsub_trigger). Public principals are refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.pubsub_publisher_members : can(regex("^(user|serviceAccount|group|domain):[^:\\s]+$|^principal(Set)?://iam[.]googleapis[.]com/\\S+$", m))])
    error_message = "pubsub_publisher_members must be IAM principals such as user:, serviceAccount:, group:, domain:, principal:// or principalSet://iam.googleapis.com/...; public access is not allowed."
  }
}

# ---------------------------------------------------------------------------------------------
# Cloudflare AI Gateway and secrets
# ---------------------------------------------------------------------------------------------

variable "aig_account_id" {
  description = "Cloudflare account ID (32 hex characters) of the AI Gateway: AIG_ACCOUNT_ID."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F]{32}$", var.aig_account_id))
    error_message = "aig_account_id must be the 32-character hexadecimal Cloudflare account ID."
  }
}

variable "aig_gateway_id" {
  description = "AI Gateway ID (its name in the Cloudflare dashboard): AIG_GATEWAY_ID."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.aig_gateway_id))
    error_message = "aig_gateway_id must be 1 to 64 letters, digits, hyphens or underscores."
  }
}

variable "aig_token_secret_id" {
  description = "Secret Manager secret (created empty by this module) that holds the AI Gateway token."
  type        = string
  default     = "aig-gateway-token"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.aig_token_secret_id))
    error_message = "aig_token_secret_id must be 1 to 255 letters, digits, hyphens or underscores."
  }
}

variable "use_openai_api_key" {
  description = "true: create a secret for an OpenAI API key and send it upstream. false: BYOK / Unified Billing, the gateway supplies the provider key."
  type        = bool
  default     = false
}

variable "openai_api_key_secret_id" {
  description = "Secret Manager secret (created empty when use_openai_api_key) that holds the OpenAI API key."
  type        = string
  default     = "openai-api-key"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.openai_api_key_secret_id))
    error_message = "openai_api_key_secret_id must be 1 to 255 letters, digits, hyphens or underscores."
  }
}

variable "secret_delivery" {
  description = "How secrets reach the function. runtime: env *_SECRET names, the function reads the latest version through the API and caches it (rotation needs no redeploy). env: the platform injects AIG_TOKEN / OPENAI_API_KEY from a pinned version at instance start (rotation = bump the version and apply)."
  type        = string
  default     = "runtime"

  validation {
    condition     = contains(["runtime", "env"], var.secret_delivery)
    error_message = "secret_delivery must be \"runtime\" or \"env\"."
  }
}

variable "aig_token_secret_version" {
  description = "Pinned version number of the gateway token secret, used only when secret_delivery = \"env\"."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^[1-9][0-9]*$", var.aig_token_secret_version))
    error_message = "aig_token_secret_version must be a version number such as \"1\"; \"latest\" is not pinned."
  }
}

variable "openai_api_key_secret_version" {
  description = "Pinned version number of the OpenAI key secret, used only when secret_delivery = \"env\" and use_openai_api_key."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^[1-9][0-9]*$", var.openai_api_key_secret_version))
    error_message = "openai_api_key_secret_version must be a version number such as \"1\"; \"latest\" is not pinned."
  }
}

variable "secret_cache_ttl_seconds" {
  description = "SECRET_CACHE_TTL_SECONDS: how long the function reuses a fetched secret (runtime delivery). Also the longest a rotated secret takes to be picked up."
  type        = number
  default     = 300

  validation {
    condition     = var.secret_cache_ttl_seconds >= 0 && var.secret_cache_ttl_seconds <= 86400
    error_message = "secret_cache_ttl_seconds must be from 0 to 86400 (what the function accepts)."
  }
}

# ---------------------------------------------------------------------------------------------
# Request behaviour
# ---------------------------------------------------------------------------------------------

variable "default_api" {
  description = "DEFAULT_API: the OpenAI API used when a request names none."
  type        = string
  default     = "responses"

  validation {
    condition     = contains(["responses", "chat"], var.default_api)
    error_message = "default_api must be \"responses\" or \"chat\"."
  }
}

variable "default_model" {
  description = "DEFAULT_MODEL: the model used when a request names none."
  type        = string
  default     = "gpt-4o-mini"

  validation {
    condition     = can(regex("^[^,\\s]+$", var.default_model))
    error_message = "default_model must be a non-empty model name without spaces or commas."
  }
}

variable "allowed_models" {
  description = "ALLOWED_MODELS: models a request may name. Empty: any model (the variable is then not set)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.allowed_models : can(regex("^[^,\\s]+$", m))])
    error_message = "allowed_models entries must be non-empty model names without spaces or commas."
  }
}

variable "upstream_timeout_seconds" {
  description = "UPSTREAM_TIMEOUT_SECONDS: the most one request may spend on the gateway, retries included. Must stay below timeout_seconds (and event_timeout_seconds) so the function can still answer."
  type        = number
  default     = 240

  validation {
    condition     = var.upstream_timeout_seconds >= 0.1 && var.upstream_timeout_seconds <= 3600
    error_message = "upstream_timeout_seconds must be from 0.1 to 3600 (what the function accepts), and below the function timeout."
  }
}

variable "max_retries" {
  description = "MAX_RETRIES: retries after the first attempt for retryable upstream failures."
  type        = number
  default     = 2

  validation {
    condition     = var.max_retries >= 0 && var.max_retries <= 10 && floor(var.max_retries) == var.max_retries
    error_message = "max_retries must be a whole number from 0 to 10."
  }
}

variable "max_body_bytes" {
  description = "MAX_BODY_BYTES: largest request body accepted. Cloud Run caps HTTP/1 request bodies at 32 MiB."
  type        = number
  default     = 8388608

  validation {
    condition     = var.max_body_bytes >= 1024 && var.max_body_bytes <= 33554432 && floor(var.max_body_bytes) == var.max_body_bytes
    error_message = "max_body_bytes must be a whole number from 1024 to 33554432 (32 MiB)."
  }
}

variable "batch_max_items" {
  description = "BATCH_MAX_ITEMS: most requests one {\"requests\": [...]} batch may hold."
  type        = number
  default     = 50

  validation {
    condition     = var.batch_max_items >= 1 && var.batch_max_items <= 1000 && floor(var.batch_max_items) == var.batch_max_items
    error_message = "batch_max_items must be a whole number from 1 to 1000."
  }
}

variable "batch_concurrency" {
  description = "BATCH_CONCURRENCY: how many requests of one batch run at once."
  type        = number
  default     = 8

  validation {
    condition     = var.batch_concurrency >= 1 && var.batch_concurrency <= 256 && floor(var.batch_concurrency) == var.batch_concurrency
    error_message = "batch_concurrency must be a whole number from 1 to 256."
  }
}

variable "log_prompts" {
  description = "LOG_PROMPTS: log prompt and answer text. Off by default: prompts may hold personal data."
  type        = bool
  default     = false
}

variable "extra_environment_variables" {
  description = "Further plain environment variables for both functions (e.g. a batch limit). The module's own settings win on a name clash. Never put a secret here: it would land in state and in the function config."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_environment_variables), ["AIG_TOKEN", "OPENAI_API_KEY"])) == 0
    error_message = "extra_environment_variables must not carry AIG_TOKEN or OPENAI_API_KEY: store them in Secret Manager (see secret_delivery)."
  }

  validation {
    # Set by the platform; a deploy that sets them fails.
    condition     = length(setintersection(keys(var.extra_environment_variables), ["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE"])) == 0 && alltrue([for k in keys(var.extra_environment_variables) : !startswith(k, "X_GOOGLE_")])
    error_message = "extra_environment_variables must not set names reserved by the platform: PORT, K_SERVICE, K_REVISION, K_CONFIGURATION, FUNCTION_TARGET, FUNCTION_SIGNATURE_TYPE or X_GOOGLE_*."
  }
}

# ---------------------------------------------------------------------------------------------
# Cloud Scheduler
# ---------------------------------------------------------------------------------------------

variable "scheduler_jobs" {
  description = <<-EOT
    Scheduled prompts: a map of job name => object with
      schedule         (required) cron expression, e.g. "0 7 * * 1-5"
      payload          (required) the request body as an object, sent as JSON (e.g. { prompt = "..." })
      time_zone        (optional) tz database name, default "Etc/UTC"
      description      (optional)
      retry_count      (optional) 0 to 5 retries of a failed run, default 0
      attempt_deadline (optional) "<seconds>s", 15s to 1800s, default function timeout + 30s (capped at 1800s)
      paused           (optional) bool, default false
      deliver          (optional) bool, default true: sent as "deliver" in the JSON body, so the result
                       goes to the configured result sinks (RESULTS_TOPIC / RESULTS_BUCKET)
    Typed `any` because each payload is a free-form object of its own shape.
  EOT
  type        = any
  default     = {}

  validation {
    condition     = can(keys(var.scheduler_jobs)) && alltrue([for k in try(keys(var.scheduler_jobs), []) : can(regex("^[A-Za-z0-9_-]{1,40}$", k))])
    error_message = "scheduler_jobs must be a map whose keys are 1 to 40 letters, digits, hyphens or underscores."
  }

  validation {
    condition     = alltrue([for j in try(values(var.scheduler_jobs), []) : can(tostring(j.schedule)) && can(keys(j.payload))])
    error_message = "Every scheduler job needs a schedule (cron string) and a payload (an object: the JSON request body)."
  }

  validation {
    condition     = alltrue([for j in try(values(var.scheduler_jobs), []) : try(j.retry_count, null) == null || try(j.retry_count >= 0 && j.retry_count <= 5 && floor(j.retry_count) == j.retry_count, false)])
    error_message = "A scheduler job's retry_count must be a whole number from 0 to 5."
  }

  validation {
    condition     = alltrue([for j in try(values(var.scheduler_jobs), []) : try(j.attempt_deadline, null) == null || try(can(regex("^[0-9]+s$", j.attempt_deadline)) && tonumber(trimsuffix(j.attempt_deadline, "s")) >= 15 && tonumber(trimsuffix(j.attempt_deadline, "s")) <= 1800, false)])
    error_message = "A scheduler job's attempt_deadline must be whole seconds with an s suffix, from \"15s\" to \"1800s\"."
  }

  validation {
    condition     = alltrue([for j in try(values(var.scheduler_jobs), []) : try(j.deliver, null) == null || try(j.deliver == true || j.deliver == false, false)])
    error_message = "A scheduler job's deliver must be true or false."
  }
}

variable "scheduler_region" {
  description = "Region of the Cloud Scheduler jobs. Null: region."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Pub/Sub trigger
# ---------------------------------------------------------------------------------------------

variable "enable_pubsub_trigger" {
  description = "Also deploy <name>-event, fed by messages on a new Pub/Sub topic <name>-requests (how: pubsub_delivery)."
  type        = bool
  default     = false
}

variable "pubsub_delivery" {
  description = "How <name>-requests reaches <name>-event. push (default): a push subscription this module owns, to the HTTP entry point prompt_push, with an OIDC token, retry policy, retention, ack deadline and a dead-letter topic whose messages come back to the same function. eventarc: an Eventarc trigger to the CloudEvent entry point prompt_event; Eventarc owns that subscription (24-hour retention, no dead-letter topic: Terraform cannot attach one)."
  type        = string
  default     = "push"

  validation {
    condition     = contains(["push", "eventarc"], var.pubsub_delivery)
    error_message = "pubsub_delivery must be \"push\" or \"eventarc\"."
  }
}

variable "pubsub_message_retention_days" {
  description = "With pubsub_delivery = \"push\": days the push subscriptions keep a message that has not been acknowledged yet (redelivered with backoff meanwhile). Pub/Sub allows up to 7."
  type        = number
  default     = 7

  validation {
    condition     = var.pubsub_message_retention_days >= 1 && var.pubsub_message_retention_days <= 7 && floor(var.pubsub_message_retention_days) == var.pubsub_message_retention_days
    error_message = "pubsub_message_retention_days must be a whole number from 1 to 7."
  }
}

variable "pubsub_agent_predates_2021_04_08" {
  description = "true only if this project's Pub/Sub service agent was created on or before 2021-04-08: such agents lack the token-minting permission for authenticated push, so the module grants roles/iam.serviceAccountTokenCreator on the trigger account. Newer projects need no grant."
  type        = bool
  default     = false
}

variable "dead_letter_max_delivery_attempts" {
  description = "With pubsub_delivery = \"push\": deliveries of a failing message before it goes to the dead-letter topic (Pub/Sub allows 5 to 100)."
  type        = number
  default     = 10

  validation {
    condition     = var.dead_letter_max_delivery_attempts >= 5 && var.dead_letter_max_delivery_attempts <= 100 && floor(var.dead_letter_max_delivery_attempts) == var.dead_letter_max_delivery_attempts
    error_message = "dead_letter_max_delivery_attempts must be a whole number from 5 to 100."
  }
}
