locals {
  # Shell variables the README's commands read the secret values from.
  secret_shell_vars = {
    aig_token      = "$TOKEN"
    openai_api_key = "$OPENAI_API_KEY"
  }
}

output "function_name" {
  description = "Name of the HTTP function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.this["prompt"].name
}

output "function_url" {
  description = "URL of the HTTP function `prompt` (the run.app URL; also the OIDC audience)."
  value       = local.prompt_url
}

output "event_function_name" {
  description = "Name of the Pub/Sub-fed function (<name>-event), or null when enable_pubsub_trigger is false."
  value       = try(google_cloudfunctions2_function.this["event"].name, null)
}

output "event_function_url" {
  description = "URL of the Pub/Sub-fed function's service (the push endpoint and OIDC audience; reachable by its deliveries only), or null."
  value       = local.event_url
}

output "event_entry_point" {
  description = "Entry point of <name>-event: prompt_push (pubsub_delivery = \"push\") or prompt_event (\"eventarc\"), or null."
  value       = try(google_cloudfunctions2_function.this["event"].build_config[0].entry_point, null)
}

output "push_subscription" {
  description = "Short name of the push subscription that feeds <name>-event from the request topic (pubsub_delivery = \"push\"), or null."
  value       = try(google_pubsub_subscription.push["requests"].name, null)
}

output "dead_letter_push_subscription" {
  description = "Short name of the push subscription that delivers each dead letter once to <name>-event, or null."
  value       = try(google_pubsub_subscription.push["dead_letter"].name, null)
}

output "pubsub_topic" {
  description = "Short name of the request topic, or null when enable_pubsub_trigger is false."
  value       = try(google_pubsub_topic.requests[0].name, null)
}

output "pubsub_topic_id" {
  description = "Full resource name (projects/<p>/topics/<t>) of the request topic, or null."
  value       = try(google_pubsub_topic.requests[0].id, null)
}

output "runtime_service_account_email" {
  description = "Identity the functions run as."
  value       = google_service_account.runtime.email
}

output "scheduler_service_account_email" {
  description = "Identity whose OIDC token the Scheduler jobs send, or null when there are no jobs."
  value       = try(google_service_account.scheduler[0].email, null)
}

output "trigger_service_account_email" {
  description = "Identity in whose name messages reach <name>-event (the push OIDC token, or the Eventarc trigger), or null when enable_pubsub_trigger is false."
  value       = try(google_service_account.trigger[0].email, null)
}

output "scheduler_job_names" {
  description = "Cloud Scheduler job names, by key of scheduler_jobs."
  value       = { for key, job in google_cloud_scheduler_job.prompt : key => job.name }
}

output "secret_ids" {
  description = "Secret Manager secrets the function reads, by role (aig_token, openai_api_key). Add their values with gcloud."
  value       = { for key, secret in google_secret_manager_secret.this : key => secret.secret_id }
}

output "secret_version_commands" {
  description = "Commands that add a secret value without it touching Terraform state (set TOKEN / OPENAI_API_KEY in your shell first)."

  value = [
    for key, secret in google_secret_manager_secret.this :
    "printf %s \"${local.secret_shell_vars[key]}\" | gcloud secrets versions add ${secret.secret_id} --project=${var.project_id} --data-file=-"
  ]
}

output "source_object" {
  description = "gs:// path of the uploaded source zip (its name carries the zip's MD5)."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
}

output "curl_example" {
  description = "An authenticated call as the gcloud user, who must be in invoker_members. From a laptop it needs ingress_settings = \"ALLOW_ALL\"; with ALLOW_INTERNAL_ONLY it works only from a VPC network of this project (docs/deploy.md)."
  value       = "curl -sS -X POST '${local.prompt_url}' -H \"Authorization: Bearer $(gcloud auth print-identity-token)\" -H 'Content-Type: application/json' -d '{\"prompt\": \"Say hello in five words.\"}'"
}

output "publish_example" {
  description = "A test message on the request topic, as a principal allowed to publish (an Owner, or pubsub_publisher_members), or null."
  value       = var.enable_pubsub_trigger ? "gcloud pubsub topics publish ${google_pubsub_topic.requests[0].name} --project=${var.project_id} --message='{\"prompt\": \"Say hello in five words.\", \"deliver\": true}' --attribute=request_id=pubsub-test-1" : null
}

output "dead_letter_topic" {
  description = "Full name of the dead-letter topic (pubsub_delivery = \"push\"), or null."
  value       = try(google_pubsub_topic.dead_letter[0].id, null)
}

output "dead_letter_subscription" {
  description = "Short name of the subscription that keeps dead-lettered messages (pull it to inspect them), or null."
  value       = try(google_pubsub_subscription.dead_letter[0].name, null)
}

output "results_topic_id" {
  description = "RESULTS_TOPIC: full name of the results topic, or null."
  value       = try(google_pubsub_topic.results[0].id, null)
}

output "results_subscription" {
  description = "Short name of the results pull subscription, or null."
  value       = try(google_pubsub_subscription.results[0].name, null)
}

output "results_bucket" {
  description = "RESULTS_BUCKET: name of the results bucket, or null."
  value       = try(google_storage_bucket.results[0].name, null)
}

output "build_service_account" {
  description = "The account Cloud Build builds the functions as (projects/<p>/serviceAccounts/<email>), or null for the platform default."
  value       = local.build_service_account
}

output "log_metric_types" {
  description = "Metric types of the log-based metrics, by name (empty when enable_monitoring is false)."
  value       = var.enable_monitoring ? local.metric_types : {}
}

output "dashboard_id" {
  description = "ID of the Cloud Monitoring dashboard, or null."
  value       = try(google_monitoring_dashboard.this[0].id, null)
}

output "event_trigger" {
  description = "Full name of the Eventarc trigger of <name>-event (pubsub_delivery = \"eventarc\"; its subscription is Eventarc's), or null."
  value       = try(google_cloudfunctions2_function.this["event"].event_trigger[0].trigger, null)
}
