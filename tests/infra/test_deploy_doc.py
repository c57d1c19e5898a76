"""docs/deploy.md names what the module deploys: every topic, subscription, function, job and
secret in its commands is the deployed name (with the module's default name), not an emulator's,
and the laptop call is the one the module prints."""

from __future__ import annotations

import re

from tests.support.infra import ROOT, locals_, resources_of, variables

DEPLOY = ROOT / "docs" / "deploy.md"


def _defaults() -> dict[str, str]:
    found = variables()
    return {name: str(found[name]["default"]) for name in ("name", "aig_token_secret_id")}


def _deployed(template: str) -> str:
    """A name template of the module (e.g. "${var.name}-requests") with the default name."""
    return template.replace("${var.name}", _defaults()["name"])


def _commands(pattern: str) -> list[str]:
    found = re.findall(pattern, DEPLOY.read_text())
    assert found, pattern
    return found


def test_published_topic_is_the_deployed_request_topic() -> None:
    """`gcloud pubsub topics publish` names <name>-requests, never the emulator's `prompts`."""
    topic = _deployed(resources_of("google_pubsub_topic")["requests"]["name"])
    assert topic == "aig-prompt-requests"
    for name in _commands(r"gcloud pubsub topics publish (\S+)"):
        assert name == topic


def test_pulled_subscriptions_are_the_deployed_pull_subscriptions() -> None:
    """`gcloud pubsub subscriptions pull` names the results or the dead-letter keeping
    subscription, the module's pull subscriptions."""
    subscriptions = resources_of("google_pubsub_subscription")
    pull = {_deployed(subscriptions[key]["name"]) for key in ("results", "dead_letter")}
    assert pull == {"aig-prompt-results", "aig-prompt-dead-letter"}
    assert set(_commands(r"gcloud pubsub subscriptions pull (\S+)")) == pull


def test_names_in_the_deployed_names_table_exist_in_the_module() -> None:
    """Each deployed name in the table is one the module creates."""
    push = locals_()["push_subscriptions"]
    module_names = {
        _deployed(template) for template in re.findall(r'name = "(\$\{var\.name\}[^"]*)"', push)
    }
    for kind in ("google_pubsub_topic", "google_pubsub_subscription"):
        for body in resources_of(kind).values():
            if isinstance(body.get("name"), str) and body["name"].startswith("${var.name}"):
                module_names.add(_deployed(body["name"]))
    table = DEPLOY.read_text().split("| what | deployed |")[1].split("\n\n")[0]
    deployed_column = re.findall(r"^\| [^|]+ \| `(aig-prompt[^`]*)` \|", table, re.M)
    assert len(deployed_column) >= 6
    assert set(deployed_column) <= module_names, set(deployed_column) - module_names


def test_function_job_and_secret_names_are_the_deployed_ones() -> None:
    """Logs are read from <name> or <name>-event, jobs run as <name>-<key>, secret values go
    to the module's secret ids."""
    name = _defaults()["name"]
    for function in _commands(r"gcloud functions logs read (\S+)"):
        assert function in {name, f"{name}-event"}
    for job in _commands(r"gcloud scheduler jobs run (\S+)"):
        assert job.startswith(f"{name}-")
    secrets = {
        _defaults()["aig_token_secret_id"],
        str(variables()["openai_api_key_secret_id"]["default"]),
    }
    assert set(_commands(r"gcloud secrets versions add (\S+)")) <= secrets


def test_laptop_call_says_which_ingress_and_which_token() -> None:
    """The first call from a laptop sets ALLOW_ALL ingress and sends the gcloud user's ID token,
    as the module's curl_example output does."""
    text = DEPLOY.read_text()
    assert 'ingress_settings = "ALLOW_ALL"' in text
    assert '-H "Authorization: Bearer $(gcloud auth print-identity-token)"' in text
    assert "terraform output -raw curl_example" in text
    assert "local-exec" not in text and "attach_dead_letter_policy" not in text
