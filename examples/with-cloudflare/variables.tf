variable "project_id" {
  description = "Google Cloud project ID."
  type        = string
}

variable "region" {
  description = "Region of the functions and jobs."
  type        = string
  default     = "us-central1"
}

variable "name" {
  description = "Base name of the module's resources (the function is <name>)."
  type        = string
  default     = "aig-prompt"
}

variable "cloudflare_account_id" {
  description = "Cloudflare account ID (32 hex characters): the dashboard's Account Home, or the URL after dash.cloudflare.com/."
  type        = string
}

variable "gateway_id" {
  description = "ID of the AI Gateway this configuration creates (its name in the dashboard)."
  type        = string
  default     = "aig-prompt"
}

variable "gateway_collect_logs" {
  description = "Keep a log entry per request in the gateway (prompts and answers included unless a request sends log.payload = false)."
  type        = bool
  default     = true
}

variable "gateway_run_permission" {
  description = "Name of the Cloudflare permission group that lets a token call an authenticated gateway."
  type        = string
  default     = "AI Gateway Run"
}

variable "create_gateway_token" {
  description = "true: create the gateway token in Terraform and write it into the Secret Manager secret (the token is then in Terraform state, see README.md). false: create it yourself and add it with gcloud."
  type        = bool
  default     = true
}

variable "gateway_token_expires_on" {
  description = "When the gateway token stops working (RFC 3339, e.g. 2027-12-31T00:00:00Z). Null: no expiry."
  type        = string
  default     = null
}

variable "use_openai_api_key" {
  description = "true: the function sends an OpenAI key (add it to the openai-api-key secret with gcloud). false: BYOK or Unified Billing on the gateway."
  type        = bool
  default     = false
}

variable "ingress_settings" {
  description = "Network ingress of the HTTP function: ALLOW_INTERNAL_ONLY, ALLOW_INTERNAL_AND_GCLB or ALLOW_ALL (a laptop needs ALLOW_ALL; IAM still applies)."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"
}

variable "invoker_members" {
  description = "Principals that may call the HTTP function, e.g. [\"user:you@example.com\"]."
  type        = list(string)
  default     = []
}

variable "scheduler_jobs" {
  description = "Scheduled prompts (see the module's scheduler_jobs)."
  type        = any
  default     = {}
}

variable "enable_pubsub_trigger" {
  description = "Also deploy the Pub/Sub-fed function (push subscription on <name>-requests)."
  type        = bool
  default     = false
}

variable "enable_results_topic" {
  description = "Create the results topic and its pull subscription."
  type        = bool
  default     = false
}

variable "enable_results_bucket" {
  description = "Create the private results bucket."
  type        = bool
  default     = false
}
