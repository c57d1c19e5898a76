provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}

# Reads CLOUDFLARE_API_TOKEN from the environment, never from a file: a token with the account
# permissions AI Gateway Write, and Account API Tokens Write and Read (README.md).
provider "cloudflare" {}
