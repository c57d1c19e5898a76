terraform {
  # 1.11: write-only arguments (secret_data_wo), which keep the token out of the secret
  # version's state.
  required_version = ">= 1.11.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.30.0, < 8.0.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.30.0, < 8.0.0"
    }
    # 5.19: cloudflare_ai_gateway (added then); cloudflare_account_token takes `resources` as
    # a JSON string.
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = ">= 5.19.0, < 6.0.0"
    }
  }
}
