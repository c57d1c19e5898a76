"""The module's Pub/Sub path, read from the HCL with python-hcl2: a push subscription Terraform
owns (the default), the dead letters it feeds back, and the Eventarc option."""

from __future__ import annotations

import json
import re

from tests.support.infra import (
    INFRA,
    hcl_string_literals,
    locals_,
    one,
    resources,
    resources_of,
    tf_files,
    variables,
    walk,
)

TRIGGER_ACCOUNT = "${google_service_account.trigger[0].email}"


def test_push_is_the_default_and_eventarc_the_option() -> None:
    """pubsub_delivery is push unless set to eventarc; nothing else passes validation."""
    variable = variables()["pubsub_delivery"]
    assert variable["default"] == "push"
    condition = one(variable, "validation")["condition"]
    assert set(hcl_string_literals(condition)) == {"push", "eventarc"}
    spec = locals_()
    assert spec["push"] == '${var.enable_pubsub_trigger && var.pubsub_delivery == "push"}'
    assert spec["eventarc"] == '${var.enable_pubsub_trigger && var.pubsub_delivery == "eventarc"}'


def test_push_path_runs_prompt_push_and_the_eventarc_path_prompt_event() -> None:
    """One <name>-event function under one key: entry point prompt_push (HTTP, no trigger) for
    push, prompt_event with an Eventarc trigger for eventarc."""
    spec = locals_()["functions"]
    assert 'local.push ? {event = {name = "${var.name}-event", entry_point = "prompt_push",' in spec
    assert (
        'local.eventarc ? {event = {name = "${var.name}-event", entry_point = "prompt_event",'
        in spec
    )
    function = resources_of("google_cloudfunctions2_function")["this"]
    (trigger,) = [d["event_trigger"] for d in function["dynamic"] if "event_trigger" in d]
    assert trigger["for_each"] == '${each.value.entry_point == "prompt_event" ? ["pubsub"] : []}'
    assert locals_()["event_url"] == (
        '${try(google_cloudfunctions2_function.this["event"].service_config[0].uri, null)}'
    )


def test_push_subscription_points_at_the_function_with_an_oidc_token() -> None:
    """Both push subscriptions push to the event function's URL, signed as the trigger account,
    with that URL as the token's audience."""
    push = resources_of("google_pubsub_subscription")["push"]
    assert push["for_each"] == "${local.push_subscriptions}"
    config = one(push, "push_config")
    assert config["push_endpoint"] == "${local.event_url}"
    token = one(config, "oidc_token")
    assert token["service_account_email"] == TRIGGER_ACCOUNT
    assert token["audience"] == config["push_endpoint"]
    # Pub/Sub's own push body, which prompt_push takes: no unwrapping.
    assert "no_wrapper" not in config


def test_push_subscription_sets_retries_retention_ack_deadline_and_dead_letters() -> None:
    """Everything an Eventarc-made subscription hides is set here: backoff 10 s to 600 s,
    retention from a variable (7 days by default), the ack deadline equal to the function's
    timeout, a dead-letter policy on the request subscription only, and no expiry."""
    push = resources_of("google_pubsub_subscription")["push"]
    local = locals_()
    assert push["ack_deadline_seconds"] == "${local.push_ack}"
    assert local["push_ack"] == "${max(10, min(600, var.event_timeout_seconds))}"
    assert push["message_retention_duration"] == "${var.pubsub_message_retention_days * 86400}s"
    assert variables()["pubsub_message_retention_days"]["default"] == 7
    retry = one(push, "retry_policy")
    assert retry["minimum_backoff"] == "${local.push_backoff.minimum}"
    assert local["push_backoff"] == {"minimum": "10s", "maximum": "600s"}
    (dead_letter,) = [d["dead_letter_policy"] for d in push["dynamic"]]
    assert dead_letter["for_each"] == (
        '${each.key == "requests" ? [google_pubsub_topic.dead_letter[0].id] : []}'
    )
    policy = one(dead_letter, "content")
    assert policy["max_delivery_attempts"] == "${var.dead_letter_max_delivery_attempts}"
    assert one(push, "expiration_policy")["ttl"] == ""


def test_dead_letters_are_pushed_back_to_the_same_function_and_kept() -> None:
    """The dead-letter topic has a push subscription to <name>-event (docs/bulk.md: a
    dead-lettered bulk item becomes its final error line) and a pull one that keeps them."""
    subscriptions = locals_()["push_subscriptions"]
    assert (
        'requests = {name = "${var.name}-requests", topic = google_pubsub_topic.requests[0].id}'
        in subscriptions
    )
    assert (
        'dead_letter = {name = "${var.name}-dead-letter-push", '
        "topic = google_pubsub_topic.dead_letter[0].id}"
    ) in subscriptions
    keeper = resources_of("google_pubsub_subscription")["dead_letter"]
    assert keeper["topic"] == "${google_pubsub_topic.dead_letter[0].id}"
    assert "push_config" not in keeper
    assert keeper["count"] == "${local.push ? 1 : 0}"


def test_pubsub_agent_may_forward_dead_letters() -> None:
    """Dead-lettering takes publisher on the dead-letter topic and subscriber on the source
    subscription, both for the Pub/Sub service agent."""
    publisher = resources_of("google_pubsub_topic_iam_member")["dead_letter_agent"]
    assert publisher["topic"] == "${google_pubsub_topic.dead_letter[0].name}"
    assert publisher["role"] == "roles/pubsub.publisher"
    subscriber = resources_of("google_pubsub_subscription_iam_member")["dead_letter_agent"]
    assert subscriber["subscription"] == '${google_pubsub_subscription.push["requests"].name}'
    assert subscriber["role"] == "roles/pubsub.subscriber"
    for grant in (publisher, subscriber):
        assert grant["member"] == "${local.pubsub_agent}"


def test_trigger_account_only_invokes_the_event_function() -> None:
    """The dedicated account signs the pushes (or is the Eventarc identity) and holds
    run.invoker on <name>-event's service, nothing else."""
    grants = {
        key: body
        for key, body in resources().items()
        if "google_service_account.trigger" in json.dumps(body)
        and key[0] not in ("google_pubsub_subscription", "google_cloudfunctions2_function")
    }
    assert set(grants) == {
        ("google_cloud_run_service_iam_member", "trigger"),
        ("google_service_account_iam_member", "pubsub_token_creator"),
    }
    invoker = grants[("google_cloud_run_service_iam_member", "trigger")]
    assert invoker["role"] == "roles/run.invoker"
    assert invoker["service"] == '${google_cloudfunctions2_function.this["event"].name}'
    assert invoker["member"] == f"serviceAccount:{TRIGGER_ACCOUNT}"


def test_no_gcloud_step_or_provisioner_anywhere() -> None:
    """Nothing in the module runs a command: no provisioner, terraform_data, null_resource or
    external data source, and no local-exec text."""
    kinds = {kind for kind, _ in resources()}
    assert not kinds & {"terraform_data", "null_resource"}
    for path in tf_files():
        text = path.read_text()
        assert "local-exec" not in text, path.name
        assert not re.search(r'data\s+"external"', text), path.name
    for body in resources().values():
        assert "provisioner" not in {key for key, _ in walk(body)}
    assert "attach_dead_letter_policy" not in variables()
    assert not (INFRA / "dead_letter.sh").exists()


def test_eventarc_path_needs_eventarc_and_its_agent_only_then() -> None:
    """The Eventarc API and service agent are enabled and created for the eventarc path only;
    the push path has neither a dead-letter Eventarc trigger nor any other."""
    local = locals_()
    assert 'local.eventarc ? ["eventarc.googleapis.com"] : []' in local["services"]
    assert 'local.eventarc ? ["eventarc.googleapis.com"] : []' in local["service_agents"]
    assert resources_of("google_eventarc_trigger") == {}
    for name in ("dead_letter",):
        assert resources_of("google_pubsub_topic")[name]["count"] == "${local.push ? 1 : 0}"
