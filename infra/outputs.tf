locals {
  # Shell variables the README's commands read the secret values from.
  secret_shell_vars = {
    aig_token      = "$TOKEN"
    openai_api_key = "$OPENAI_API_KEY"
  }
}

output "function_name" {
  description = "Name of the HTTP function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.prompt.name
}

output "function_url" {
  description = "URL of the HTTP function `prompt` (the run.app URL; also the OIDC audience)."
  value       = local.prompt_url
}

output "event_function_name" {
  description = "Name of the Pub/Sub-triggered function, or null when enable_pubsub_trigger is false."
  value       = try(google_cloudfunctions2_function.prompt_event[0].name, null)
}

output "event_function_url" {
  description = "URL of the Pub/Sub-triggered function's service (reachable by its trigger only), or null."
  value       = try(google_cloudfunctions2_function.prompt_event[0].service_config[0].uri, null)
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
  description = "Identity of the Eventarc (Pub/Sub) trigger, or null when enable_pubsub_trigger is false."
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
  description = "Example authenticated call. With ALLOW_INTERNAL_ONLY ingress it must run from a VPC network of this project (see README)."
  value       = "curl -sS -X POST '${local.prompt_url}' -H \"Authorization: Bearer $(gcloud auth print-identity-token)\" -H 'Content-Type: application/json' -d '{\"prompt\": \"Say hello in five words.\"}'"
}
