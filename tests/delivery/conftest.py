"""Result-delivery and bulk tests: function processes against Google's Pub/Sub emulator and a
Cloud Storage emulator. Their fixtures (`pubsub`, `storage`, `results`, `delivering`, `push_to`)
come from tests/support/google.py."""
