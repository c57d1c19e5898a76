# Every input of the module, with the module's own description, type and default, so anything
# the docs tell you to set can go straight into terraform.tfvars. The module validates them.
# (tests/infra/test_examples.py keeps this file in step with infra/variables*.tf.)

variable "project_id" {
  description = "Google Cloud project ID that hosts every resource of this module."
  type        = string
}

variable "region" {
  description = "Region of the functions, the Eventarc trigger and (unless scheduler_region is set) the Scheduler jobs, e.g. us-central1."
  type        = string
  default     = "us-central1"
}

variable "name" {
  description = "Base name: the HTTP function is called <name>, the Pub/Sub function <name>-event, service accounts <name>-fn / <name>-sched / <name>-evt."
  type        = string
  default     = "aig-prompt"
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

variable "source_bucket_name" {
  description = "Name of the bucket created for the zipped function source. Null: <project_id>-<name>-src."
  type        = string
  default     = null
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
}

variable "access_log_bucket" {
  description = "Existing bucket that receives usage/access logs of the source bucket. Null: no bucket access logs (Cloud Audit Logs still record admin activity)."
  type        = string
  default     = null
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
}

variable "build_service_account" {
  description = "With build_identity = \"external\" only: the build account as projects/<project>/serviceAccounts/<email>. It needs logging.logWriter, artifactregistry.writer and storage.objectAdmin, and the deployer needs iam.serviceAccountUser on it."
  type        = string
  default     = null
}

variable "deployer_members" {
  description = "With build_identity = \"dedicated\": principals that run terraform apply and so need actAs (roles/iam.serviceAccountUser) on the build account, e.g. [\"serviceAccount:ci@p.iam.gserviceaccount.com\"]. Owners and Editors already have it."
  type        = list(string)
  default     = []
}

variable "iam_propagation_wait" {
  description = "Pause after the grants the functions depend on (build roles, secret access, service agents) before deploying them: IAM changes take up to a few minutes to apply everywhere."
  type        = string
  default     = "90s"
}

variable "api_enable_wait" {
  description = "Pause after google_project_service enables the APIs (enable_apis) and before anything uses them: an API reported enabled is not always usable at once. Only on first enable or when the API list changes."
  type        = string
  default     = "60s"
}

variable "runtime" {
  description = "Cloud Run functions Python runtime of both functions: python311, python312 or python313. The default, python313, is the newest the functions run on and the one `make test` runs the unit-level tests on (the full suite runs on the python3 of the test machine, 3.11 or newer)."
  type        = string
  default     = "python313"
}

variable "available_cpu" {
  description = "vCPUs per instance. Concurrency above 1 needs at least 1 vCPU."
  type        = string
  default     = "1"
}

variable "available_memory" {
  description = "Memory per instance, with a unit (e.g. 512Mi, 1Gi). Must pair with available_cpu by Cloud Run's rules: below 1 vCPU, more than 512Mi needs 0.5 and more than 1Gi needs 1; 4 vCPU needs 2Gi, 6 or 8 vCPU 4Gi; more than 4Gi needs 2 vCPU, 8Gi 4, 16Gi 6, 24Gi 8; 128Mi to 32Gi."
  type        = string
  default     = "512Mi"
}

variable "max_instance_request_concurrency" {
  description = "Requests one instance serves at once. The async function keeps them all in flight; Cloud Run allows at most 1000."
  type        = number
  default     = 250
}

variable "timeout_seconds" {
  description = "Request timeout of the HTTP function. LLM calls are slow; keep it above upstream_timeout_seconds."
  type        = number
  default     = 300
}

variable "event_timeout_seconds" {
  description = "Timeout of the Pub/Sub-fed function <name>-event (only with enable_pubsub_trigger). With pubsub_delivery = \"push\" it is also the push subscriptions' ack deadline (at least 10 s), so Pub/Sub waits exactly as long as the function may run."
  type        = number
  default     = 300
}

variable "min_instance_count" {
  description = "Instances kept warm. 0 scales to zero (a cold start costs a few seconds on the first request)."
  type        = number
  default     = 0
}

variable "max_instance_count" {
  description = "Upper bound on instances per function: with max_instance_request_concurrency it caps the calls in flight (and the spend)."
  type        = number
  default     = 10
}

variable "ingress_settings" {
  description = "Network ingress of the HTTP function: ALLOW_INTERNAL_ONLY (default; same-project VPC, Scheduler, Pub/Sub, Eventarc), ALLOW_INTERNAL_AND_GCLB (plus a load balancer) or ALLOW_ALL (internet; IAM still required)."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"
}

variable "invoker_members" {
  description = "Principals granted roles/run.invoker on the HTTP function only, e.g. [\"serviceAccount:caller@p.iam.gserviceaccount.com\", \"group:team@example.com\"]. Public principals are refused."
  type        = list(string)
  default     = []
}

variable "pubsub_publisher_members" {
  description = "Principals granted roles/pubsub.publisher on the request topic only (with enable_pubsub_trigger). Public principals are refused."
  type        = list(string)
  default     = []
}

variable "aig_account_id" {
  description = "Cloudflare account ID (32 hex characters) of the AI Gateway: AIG_ACCOUNT_ID."
  type        = string
}

variable "aig_gateway_id" {
  description = "AI Gateway ID (its name in the Cloudflare dashboard): AIG_GATEWAY_ID."
  type        = string
}

variable "aig_token_secret_id" {
  description = "Secret Manager secret (created empty by this module) that holds the AI Gateway token."
  type        = string
  default     = "aig-gateway-token"
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
}

variable "secret_delivery" {
  description = "How secrets reach the function. runtime: env *_SECRET names, the function reads the latest version through the API and caches it (rotation needs no redeploy). env: the platform injects AIG_TOKEN / OPENAI_API_KEY from a pinned version at instance start (rotation = bump the version and apply)."
  type        = string
  default     = "runtime"
}

variable "aig_token_secret_version" {
  description = "Pinned version number of the gateway token secret, used only when secret_delivery = \"env\"."
  type        = string
  default     = "1"
}

variable "openai_api_key_secret_version" {
  description = "Pinned version number of the OpenAI key secret, used only when secret_delivery = \"env\" and use_openai_api_key."
  type        = string
  default     = "1"
}

variable "secret_cache_ttl_seconds" {
  description = "SECRET_CACHE_TTL_SECONDS: how long the function reuses a fetched secret (runtime delivery). Also the longest a rotated secret takes to be picked up."
  type        = number
  default     = 300
}

variable "default_api" {
  description = "DEFAULT_API: the OpenAI API used when a request names none."
  type        = string
  default     = "responses"
}

variable "default_model" {
  description = "DEFAULT_MODEL: the model used when a request names none."
  type        = string
  default     = "gpt-4o-mini"
}

variable "allowed_models" {
  description = "ALLOWED_MODELS: models a request may name. Empty: any model (the variable is then not set)."
  type        = list(string)
  default     = []
}

variable "upstream_timeout_seconds" {
  description = "UPSTREAM_TIMEOUT_SECONDS: the most one request may spend on the gateway, retries included. Must stay below timeout_seconds (and event_timeout_seconds) so the function can still answer."
  type        = number
  default     = 240
}

variable "max_retries" {
  description = "MAX_RETRIES: retries after the first attempt for retryable upstream failures."
  type        = number
  default     = 2
}

variable "max_body_bytes" {
  description = "MAX_BODY_BYTES: largest request body accepted. Cloud Run caps HTTP/1 request bodies at 32 MiB."
  type        = number
  default     = 8388608
}

variable "batch_max_items" {
  description = "BATCH_MAX_ITEMS: most requests one {\"requests\": [...]} batch may hold."
  type        = number
  default     = 50
}

variable "batch_concurrency" {
  description = "BATCH_CONCURRENCY: how many requests of one batch run at once."
  type        = number
  default     = 8
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
}

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
}

variable "scheduler_region" {
  description = "Region of the Cloud Scheduler jobs. Null: region."
  type        = string
  default     = null
}

variable "enable_pubsub_trigger" {
  description = "Also deploy <name>-event, fed by messages on a new Pub/Sub topic <name>-requests (how: pubsub_delivery)."
  type        = bool
  default     = false
}

variable "pubsub_delivery" {
  description = "How <name>-requests reaches <name>-event. push (default): a push subscription this module owns, to the HTTP entry point prompt_push, with an OIDC token, retry policy, retention, ack deadline and a dead-letter topic whose messages come back to the same function. eventarc: an Eventarc trigger to the CloudEvent entry point prompt_event; Eventarc owns that subscription (24-hour retention, no dead-letter topic: Terraform cannot attach one)."
  type        = string
  default     = "push"
}

variable "pubsub_message_retention_days" {
  description = "With pubsub_delivery = \"push\": days the push subscriptions keep a message that has not been acknowledged yet (redelivered with backoff meanwhile). Pub/Sub allows up to 7."
  type        = number
  default     = 7
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
}

variable "enable_monitoring" {
  description = "Create the log-based metrics (requests, errors, latency, tokens, cost), the dashboard and the error-rate alert policy."
  type        = bool
  default     = true
}

variable "alert_error_rate" {
  description = "Share of requests answered with a 5xx status (0 to 1) above which the alert fires."
  type        = number
  default     = 0.05
}

variable "alert_duration_seconds" {
  description = "How long the error rate must stay above alert_error_rate before the alert fires."
  type        = number
  default     = 300
}

variable "alert_notification_channels" {
  description = "Notification channels (projects/<p>/notificationChannels/<id>) the alert notifies. Empty: the alert shows in the console only."
  type        = list(string)
  default     = []
}

variable "metric_propagation_wait" {
  description = "Pause between creating the log-based metrics and creating the alert policy that names them: Cloud Monitoring answers 404 \"Cannot find metric(s)\" for a new log-based metric for several minutes (hashicorp/terraform-provider-google issue 11102). The wait runs alongside the function build, so it rarely lengthens an apply."
  type        = string
  default     = "300s"
}

variable "enable_results_topic" {
  description = "Create the results topic <name>-results (RESULTS_TOPIC, its full projects/<p>/topics/<t> name) with a pull subscription of the same name; the function may publish to that topic only."
  type        = bool
  default     = false
}

variable "results_message_retention_days" {
  description = "Days the results pull subscription keeps an unacknowledged result (Pub/Sub allows up to 7)."
  type        = number
  default     = 7
}

variable "results_subscriber_members" {
  description = "Principals granted roles/pubsub.subscriber on the results pull subscription only. Public principals are refused."
  type        = list(string)
  default     = []
}

variable "results_bigquery_table" {
  description = "Existing BigQuery table, as project.dataset.table, that a BigQuery subscription on the results topic fills with one row per result (columns: data STRING or JSON, plus subscription_name, message_id, publish_time, attributes). Null: no BigQuery subscription."
  type        = string
  default     = null
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
}

variable "results_prefix" {
  description = "RESULTS_PREFIX: object name prefix of the results in the bucket."
  type        = string
  default     = "results/"
}

variable "results_retention_days" {
  description = "Days a result object is kept before the bucket's lifecycle rule deletes it."
  type        = number
  default     = 30
}

variable "results_reader_members" {
  description = "Principals granted roles/storage.objectViewer on the results bucket only. Public principals are refused."
  type        = list(string)
  default     = []
}

variable "bulk_input_buckets" {
  description = "Existing buckets the function may read request files from (roles/storage.objectViewer on each, for the runtime account only)."
  type        = list(string)
  default     = []
}

variable "bulk_output_buckets" {
  description = "Existing buckets the function may create result files in (roles/storage.objectUser on each, for the runtime account only: create, read, list, and delete its compose parts)."
  type        = list(string)
  default     = []
}
