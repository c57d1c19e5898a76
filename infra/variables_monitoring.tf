# ---------------------------------------------------------------------------------------------
# Monitoring (monitoring.tf, dashboard.tf)
# ---------------------------------------------------------------------------------------------

variable "enable_monitoring" {
  description = "Create the log-based metrics (requests, errors, latency, tokens, cost), the dashboard and the error-rate alert policy."
  type        = bool
  default     = true
}

variable "alert_error_rate" {
  description = "Share of requests answered with a 5xx status (0 to 1) above which the alert fires."
  type        = number
  default     = 0.05

  validation {
    condition     = var.alert_error_rate > 0 && var.alert_error_rate <= 1
    error_message = "alert_error_rate must be above 0 and at most 1 (0.05 = 5%)."
  }
}

variable "alert_duration_seconds" {
  description = "How long the error rate must stay above alert_error_rate before the alert fires."
  type        = number
  default     = 300

  validation {
    condition     = var.alert_duration_seconds >= 0 && var.alert_duration_seconds <= 86400 && floor(var.alert_duration_seconds) == var.alert_duration_seconds
    error_message = "alert_duration_seconds must be a whole number from 0 to 86400."
  }
}

variable "alert_notification_channels" {
  description = "Notification channels (projects/<p>/notificationChannels/<id>) the alert notifies. Empty: the alert shows in the console only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "alert_notification_channels entries must be projects/<project>/notificationChannels/<id>."
  }
}

variable "metric_propagation_wait" {
  description = "Pause between creating the log-based metrics and creating the alert policy that names them: Cloud Monitoring answers 404 \"Cannot find metric(s)\" for a new log-based metric for several minutes (hashicorp/terraform-provider-google issue 11102). The wait runs alongside the function build, so it rarely lengthens an apply."
  type        = string
  default     = "300s"

  validation {
    condition     = can(regex("^[0-9]+[sm]$", var.metric_propagation_wait))
    error_message = "metric_propagation_wait must be a duration in seconds or minutes, such as \"300s\" or \"5m\"."
  }
}
