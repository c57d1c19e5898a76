# The smallest root configuration around the module: providers here, every module input passed
# through from variables.tf, so any setting the docs name can be given in terraform.tfvars.
# README.md in this folder shows a terraform.tfvars for each common shape.
#
#   cd examples/basic
#   cp terraform.tfvars.example terraform.tfvars   # then edit
#   terraform init && terraform apply

module "prompt" {
  source = "../../infra"

  project_id                        = var.project_id
  region                            = var.region
  name                              = var.name
  labels                            = var.labels
  enable_apis                       = var.enable_apis
  source_bucket_name                = var.source_bucket_name
  source_bucket_force_destroy       = var.source_bucket_force_destroy
  source_noncurrent_retention_days  = var.source_noncurrent_retention_days
  access_log_bucket                 = var.access_log_bucket
  source_excludes                   = var.source_excludes
  build_identity                    = var.build_identity
  build_service_account             = var.build_service_account
  deployer_members                  = var.deployer_members
  iam_propagation_wait              = var.iam_propagation_wait
  api_enable_wait                   = var.api_enable_wait
  runtime                           = var.runtime
  available_cpu                     = var.available_cpu
  available_memory                  = var.available_memory
  max_instance_request_concurrency  = var.max_instance_request_concurrency
  timeout_seconds                   = var.timeout_seconds
  event_timeout_seconds             = var.event_timeout_seconds
  min_instance_count                = var.min_instance_count
  max_instance_count                = var.max_instance_count
  ingress_settings                  = var.ingress_settings
  invoker_members                   = var.invoker_members
  pubsub_publisher_members          = var.pubsub_publisher_members
  aig_account_id                    = var.aig_account_id
  aig_gateway_id                    = var.aig_gateway_id
  aig_token_secret_id               = var.aig_token_secret_id
  use_openai_api_key                = var.use_openai_api_key
  openai_api_key_secret_id          = var.openai_api_key_secret_id
  secret_delivery                   = var.secret_delivery
  aig_token_secret_version          = var.aig_token_secret_version
  openai_api_key_secret_version     = var.openai_api_key_secret_version
  secret_cache_ttl_seconds          = var.secret_cache_ttl_seconds
  default_api                       = var.default_api
  default_model                     = var.default_model
  allowed_models                    = var.allowed_models
  upstream_timeout_seconds          = var.upstream_timeout_seconds
  max_retries                       = var.max_retries
  max_body_bytes                    = var.max_body_bytes
  batch_max_items                   = var.batch_max_items
  batch_concurrency                 = var.batch_concurrency
  log_prompts                       = var.log_prompts
  extra_environment_variables       = var.extra_environment_variables
  scheduler_jobs                    = var.scheduler_jobs
  scheduler_region                  = var.scheduler_region
  enable_pubsub_trigger             = var.enable_pubsub_trigger
  pubsub_delivery                   = var.pubsub_delivery
  pubsub_message_retention_days     = var.pubsub_message_retention_days
  pubsub_agent_predates_2021_04_08  = var.pubsub_agent_predates_2021_04_08
  dead_letter_max_delivery_attempts = var.dead_letter_max_delivery_attempts
  enable_monitoring                 = var.enable_monitoring
  alert_error_rate                  = var.alert_error_rate
  alert_duration_seconds            = var.alert_duration_seconds
  alert_notification_channels       = var.alert_notification_channels
  metric_propagation_wait           = var.metric_propagation_wait
  enable_results_topic              = var.enable_results_topic
  results_message_retention_days    = var.results_message_retention_days
  results_subscriber_members        = var.results_subscriber_members
  results_bigquery_table            = var.results_bigquery_table
  enable_results_bucket             = var.enable_results_bucket
  results_bucket_name               = var.results_bucket_name
  results_prefix                    = var.results_prefix
  results_retention_days            = var.results_retention_days
  results_reader_members            = var.results_reader_members
  bulk_input_buckets                = var.bulk_input_buckets
  bulk_output_buckets               = var.bulk_output_buckets
}

output "function_url" {
  description = "URL of the HTTP function (also the audience of its ID tokens)."
  value       = module.prompt.function_url
}

output "curl_example" {
  description = "An authenticated call as your gcloud user (in invoker_members; from a laptop it needs ingress_settings = \"ALLOW_ALL\")."
  value       = module.prompt.curl_example
}

output "secret_version_commands" {
  description = "Add the secret values with these (set TOKEN first)."
  value       = module.prompt.secret_version_commands
}

output "scheduler_job_names" {
  description = "Cloud Scheduler job names, by key of scheduler_jobs."
  value       = module.prompt.scheduler_job_names
}

output "pubsub_topic" {
  description = "The request topic (publish prompts here), or null."
  value       = module.prompt.pubsub_topic
}

output "publish_example" {
  description = "A test message on the request topic, or null."
  value       = module.prompt.publish_example
}

output "event_function_name" {
  description = "The Pub/Sub-fed function (read its logs), or null."
  value       = module.prompt.event_function_name
}

output "push_subscription" {
  description = "The push subscription feeding the Pub/Sub function, or null."
  value       = module.prompt.push_subscription
}

output "dead_letter_subscription" {
  description = "The subscription that keeps dead letters for inspection, or null."
  value       = module.prompt.dead_letter_subscription
}

output "results_subscription" {
  description = "The results pull subscription, or null."
  value       = module.prompt.results_subscription
}

output "results_bucket" {
  description = "The results bucket, or null."
  value       = module.prompt.results_bucket
}

output "dashboard_id" {
  description = "The Cloud Monitoring dashboard, or null."
  value       = module.prompt.dashboard_id
}
