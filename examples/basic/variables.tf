variable "project_id" {
  description = "Google Cloud project ID."
  type        = string
}

variable "region" {
  description = "Region of the functions and jobs."
  type        = string
  default     = "us-central1"
}

variable "aig_account_id" {
  description = "Cloudflare account ID (32 hex characters)."
  type        = string
}

variable "aig_gateway_id" {
  description = "Cloudflare AI Gateway ID."
  type        = string
}

variable "invoker_members" {
  description = "Principals that may call the HTTP function."
  type        = list(string)
  default     = []
}

variable "scheduler_jobs" {
  description = "Scheduled prompts (see the module's scheduler_jobs)."
  type        = any
  default     = {}
}

variable "enable_pubsub_trigger" {
  description = "Also deploy the Pub/Sub-triggered function with its dead-letter topic."
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

variable "alert_notification_channels" {
  description = "Notification channels of the error-rate alert."
  type        = list(string)
  default     = []
}
