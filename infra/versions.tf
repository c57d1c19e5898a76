terraform {
  # 1.5: optional() attribute defaults, startswith() and lifecycle preconditions are all there.
  required_version = ">= 1.5.0"

  required_providers {
    # google 5.x: `replication { auto {} }` and `build_config.service_account`.
    google = {
      source  = "hashicorp/google"
      version = ">= 5.40.0, < 8.0.0"
    }
    # archive 2.7: glob patterns (`**/__pycache__`) in `excludes`.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.7.0, < 3.0.0"
    }
  }
}
