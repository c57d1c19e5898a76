terraform {
  # 1.5: optional() attribute defaults, startswith()/strcontains() and lifecycle preconditions.
  required_version = ">= 1.5.0"

  # No provider block here: this folder is a module. The caller configures the providers
  # (see examples/basic/providers.tf).
  required_providers {
    # google 5.x: `replication { auto {} }` and `build_config.service_account`.
    google = {
      source  = "hashicorp/google"
      version = ">= 5.40.0, < 8.0.0"
    }
    # google_project_service_identity exists only in the beta provider.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 5.40.0, < 8.0.0"
    }
    # archive 2.7: glob patterns (`**/__pycache__`) in `excludes`.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.7.0, < 3.0.0"
    }
    # time_sleep: waits for IAM grants to propagate before the resources that need them.
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9.0, < 1.0.0"
    }
  }
}
