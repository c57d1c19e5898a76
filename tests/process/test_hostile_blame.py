"""Answers that blamed the wrong party, over real sockets: a Secret Manager that never answers is
secret_unavailable, bad settings and a non-ASCII secret are config_error."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.support.constants import TOKEN
from tests.support.servers import ServerFactory


def test_secret_store_outage_longer_than_the_budget_is_secret_unavailable(
    serve: ServerFactory,
) -> None:
    """A Secret Manager that accepts connections and never answers: 503 secret_unavailable."""
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        server = serve(
            SECRETMANAGER_EMULATOR_HOST=f"127.0.0.1:{black_hole.getsockname()[1]}",
            UPSTREAM_TIMEOUT_SECONDS="1",
            SECRET_TIMEOUT_SECONDS="30",
        )
        response = server.post({"prompt": "hi"})
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "secret_unavailable"


@pytest.mark.parametrize(
    "env",
    [
        {"AIG_TOKEN": "\ufeff" + TOKEN},  # a byte-order mark an editor left
        {"DEFAULT_MODEL": "gpt-4o", "ALLOWED_MODELS": "gpt-4o-mini"},
    ],
    ids=["bom-in-token", "default-model-not-allowed"],
)
def test_bad_settings_are_config_errors(serve: ServerFactory, env: dict[str, str]) -> None:
    server = serve(secrets="env", **env)
    response = server.post({"prompt": "hi"})
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "config_error"
    start_up = [line for line in server.log_lines() if line.get("event") == "config_error"]
    assert start_up, "the bad setting was not reported at start-up"


def test_non_ascii_secret_from_the_store_is_a_config_error(
    serve: ServerFactory, secret_manager: Any
) -> None:
    secret_manager.set_secret("projects/test-project/secrets/bom-token", "\ufeff" + TOKEN)
    server = serve(AIG_TOKEN_SECRET="bom-token")
    response = server.post({"prompt": "hi"})
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "config_error"
    assert "non-ASCII" in response.json()["error"]["message"]
