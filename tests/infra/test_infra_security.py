"""Static security checks of the Terraform module in infra/, read with python-hcl2: secrets never
in state, IAM bound per resource to the identity that needs it, no public principals."""

from __future__ import annotations

import re

import pytest

from tests.support.infra import (
    EXAMPLE,
    hcl_string_literals,
    locals_,
    one,
    parse,
    resources,
    resources_of,
    tf_files,
    variables,
    walk,
)

PUBLIC_PRINCIPALS = ("allUsers", "allAuthenticatedUsers")
MEMBER_VARIABLES = (
    "invoker_members",
    "pubsub_publisher_members",
    "deployer_members",
    "results_subscriber_members",
    "results_reader_members",
)


def test_project_level_grants_are_only_the_build_accounts() -> None:
    """Project IAM exists only for the build identity; no folder/org IAM, no policy resources."""
    kinds = {rtype for rtype, _ in resources()}
    assert not [k for k in kinds if re.match(r"google_(folder|organization)_iam_", k)]
    assert not [k for k in kinds if re.match(r"google_project_iam_(policy|binding)", k)]
    members = resources_of("google_project_iam_member")
    assert set(members) == {"build", "default_build"}
    assert members["build"]["member"] == "serviceAccount:${google_service_account.build[0].email}"
    assert members["default_build"]["role"] == "roles/cloudbuild.builds.builder"
    assert "-compute@developer.gserviceaccount.com" in members["default_build"]["member"]


def test_secret_access_is_bound_per_secret_to_the_runtime_identity() -> None:
    """secretAccessor is granted on each created secret, to the runtime service account only."""
    bindings = resources_of("google_secret_manager_secret_iam_member")
    assert bindings, "the runtime identity needs access to its secrets"
    secrets = resources_of("google_secret_manager_secret")
    assert set(secrets) == {"this"}
    for body in bindings.values():
        assert body["role"] == "roles/secretmanager.secretAccessor"
        assert "google_secret_manager_secret.this[each.key]" in body["secret_id"]
        assert body["member"] == "serviceAccount:${google_service_account.runtime.email}"
        assert body["for_each"] == secrets["this"]["for_each"]


def test_secrets_are_containers_with_automatic_replication() -> None:
    """The gateway token secret always exists, the OpenAI key secret only when asked for."""
    secret = resources_of("google_secret_manager_secret")["this"]
    assert one(secret, "replication")["auto"] is not None
    secret_ids = locals_()["secret_ids"]
    assert "aig_token = var.aig_token_secret_id" in secret_ids
    assert "var.use_openai_api_key ? {openai_api_key = var.openai_api_key_secret_id} : {}" in (
        secret_ids
    )


def test_no_secret_value_enters_terraform() -> None:
    """No secret version resource and no secret_data argument appear anywhere."""
    assert resources_of("google_secret_manager_secret_version") == {}
    for path in tf_files():
        keys = {key for key, _ in walk(parse(path))}
        assert "secret_data" not in keys, path.name
        assert "secret_data" not in path.read_text(), path.name


def test_no_public_principal_literal() -> None:
    """Neither public principal is written anywhere in the module or the example."""
    for path in [*tf_files(), *EXAMPLE.iterdir()]:
        text = path.read_text()
        for principal in PUBLIC_PRINCIPALS:
            assert principal not in text, f"{principal} in {path.name}"


@pytest.mark.parametrize("variable", MEMBER_VARIABLES)
def test_member_validation_refuses_public_principals(variable: str) -> None:
    """Each members validation accepts IAM principals and refuses public ones and typos."""
    condition = one(variables()[variable], "validation")["condition"]
    patterns = [literal for literal in hcl_string_literals(condition) if literal.startswith("^")]
    assert len(patterns) == 1
    pattern = re.compile(patterns[0])
    accepted = [
        "serviceAccount:caller@my-project.iam.gserviceaccount.com",
        "user:alice@example.com",
        "group:team@example.com",
        "domain:example.com",
        "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*",
    ]
    refused = [
        *PUBLIC_PRINCIPALS,
        "serviceaccount:caller@my-project.iam.gserviceaccount.com",
        "user:",
        "user:alice@example.com extra",
        "",
    ]
    for member in accepted:
        assert pattern.search(member), member
    for member in refused:
        assert not pattern.search(member), member
