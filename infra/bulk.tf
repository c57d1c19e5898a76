# Bulk runs: the function reads request files from existing input buckets and writes result
# files to existing output buckets. Grants are per bucket and for the runtime account only.
# On an output bucket it creates, reads and lists objects (the status call), overwrites its
# progress marker and compose parts, and deletes the parts once results.jsonl is assembled:
# roles/storage.objectUser (objectCreator alone can neither read, list, overwrite nor delete).
# (Publishing follow-up requests to <name>-requests is granted in pubsub.tf.)

resource "google_storage_bucket_iam_member" "bulk_input" {
  for_each = toset(var.bulk_input_buckets)

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "bulk_output" {
  for_each = toset(var.bulk_output_buckets)

  bucket = each.value
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.runtime.email}"
}
