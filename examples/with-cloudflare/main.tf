# The relay and its Cloudflare side in one apply: the AI Gateway (authentication on), a token
# that may only run it, written straight into the Secret Manager secret the function reads, and
# the module of examples/basic. No token is pasted by hand. What this puts into Terraform state,
# and how to keep it out, is in README.md.
#
#   cd examples/with-cloudflare
#   cp terraform.tfvars.example terraform.tfvars   # then edit
#   export CLOUDFLARE_API_TOKEN=...                 # read -rs CLOUDFLARE_API_TOKEN; export it
#   terraform init && terraform apply

# Every optional setting is written out: the provider shows a lasting diff for some it leaves
# unset. Caching and rate limiting are off here; the function sets caching per request.
resource "cloudflare_ai_gateway" "this" {
  account_id                 = var.cloudflare_account_id
  id                         = var.gateway_id
  authentication             = true
  collect_logs               = var.gateway_collect_logs
  cache_ttl                  = 0
  cache_invalidate_on_update = true
  rate_limiting_interval     = 0
  rate_limiting_limit        = 0
  rate_limiting_technique    = "fixed"
}

# The permission group by name (URL-encoded, as the API filters it); its id differs by account.
data "cloudflare_account_api_token_permission_groups_list" "run" {
  count = var.create_gateway_token ? 1 : 0

  account_id = var.cloudflare_account_id
  name       = replace(var.gateway_run_permission, " ", "%20")
}

locals {
  run_permission_ids = var.create_gateway_token ? [
    for group in data.cloudflare_account_api_token_permission_groups_list.run[0].result : group.id
    if group.name == var.gateway_run_permission
  ] : []
}

# An account token that can run this account's gateways and do nothing else.
resource "cloudflare_account_token" "gateway" {
  count = var.create_gateway_token ? 1 : 0

  account_id = var.cloudflare_account_id
  name       = "${var.name} gateway ${var.gateway_id}"
  expires_on = var.gateway_token_expires_on

  policies = [{
    effect            = "allow"
    permission_groups = [for id in local.run_permission_ids : { id = id }]
    resources = jsonencode({
      "com.cloudflare.api.account.${var.cloudflare_account_id}" = "*"
    })
  }]

  lifecycle {
    precondition {
      condition     = length(local.run_permission_ids) == 1
      error_message = "No single Cloudflare permission group is named gateway_run_permission; look the name up in the dashboard's token editor (AI Gateway, Run) and set it."
    }
  }

  depends_on = [cloudflare_ai_gateway.this]
}

module "prompt" {
  source = "../../infra"

  project_id     = var.project_id
  region         = var.region
  name           = var.name
  aig_account_id = var.cloudflare_account_id
  aig_gateway_id = cloudflare_ai_gateway.this.id

  use_openai_api_key    = var.use_openai_api_key
  ingress_settings      = var.ingress_settings
  invoker_members       = var.invoker_members
  scheduler_jobs        = var.scheduler_jobs
  enable_pubsub_trigger = var.enable_pubsub_trigger
  enable_results_topic  = var.enable_results_topic
  enable_results_bucket = var.enable_results_bucket
}

# The token into the secret the module created empty. secret_data_wo is write-only: Terraform
# sends it and does not store it, so this resource's state holds no token. A new token (the
# token resource replaced) adds a new version; the function picks it up within
# secret_cache_ttl_seconds.
resource "google_secret_manager_secret_version" "gateway_token" {
  count = var.create_gateway_token ? 1 : 0

  secret                 = "projects/${var.project_id}/secrets/${module.prompt.secret_ids["aig_token"]}"
  secret_data_wo         = cloudflare_account_token.gateway[0].value
  secret_data_wo_version = 1

  lifecycle {
    replace_triggered_by = [cloudflare_account_token.gateway[0].id]
  }
}

output "function_url" {
  description = "URL of the HTTP function."
  value       = module.prompt.function_url
}

output "curl_example" {
  description = "An authenticated call as your gcloud user (in invoker_members; from a laptop with ingress_settings = \"ALLOW_ALL\")."
  value       = module.prompt.curl_example
}

output "gateway_url" {
  description = "The gateway's OpenAI base URL, as the function builds it."
  value       = "https://gateway.ai.cloudflare.com/v1/${var.cloudflare_account_id}/${cloudflare_ai_gateway.this.id}/openai"
}

output "secret_version_commands" {
  description = "With create_gateway_token = false (or use_openai_api_key): add the secret values with these."
  value       = module.prompt.secret_version_commands
}
