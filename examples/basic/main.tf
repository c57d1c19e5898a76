# The smallest root configuration around the module: providers here, everything else in it.
#
#   cd examples/basic
#   cp terraform.tfvars.example terraform.tfvars   # then edit
#   terraform init && terraform apply

module "prompt" {
  source = "../../infra"

  project_id     = var.project_id
  region         = var.region
  aig_account_id = var.aig_account_id
  aig_gateway_id = var.aig_gateway_id

  invoker_members             = var.invoker_members
  scheduler_jobs              = var.scheduler_jobs
  enable_pubsub_trigger       = var.enable_pubsub_trigger
  enable_results_topic        = var.enable_results_topic
  enable_results_bucket       = var.enable_results_bucket
  alert_notification_channels = var.alert_notification_channels
}

output "function_url" {
  description = "URL of the HTTP function."
  value       = module.prompt.function_url
}

output "secret_version_commands" {
  description = "Add the secret values with these (set TOKEN first)."
  value       = module.prompt.secret_version_commands
}

output "dashboard_id" {
  description = "The Cloud Monitoring dashboard."
  value       = module.prompt.dashboard_id
}

output "event_trigger" {
  description = "The Eventarc trigger of the Pub/Sub function, or null."
  value       = module.prompt.event_trigger
}

output "dead_letter_commands" {
  description = "The gcloud lines that attach the dead-letter policy, or null."
  value       = module.prompt.dead_letter_commands
}

output "results_bucket" {
  description = "The results bucket, or null."
  value       = module.prompt.results_bucket
}
