"""Settings read from the environment, and the masked Secret type."""

from __future__ import annotations

import pytest

from relay import ConfigError, Secret, Settings

BASE = {"AIG_ACCOUNT_ID": "acct", "AIG_GATEWAY_ID": "gw", "AIG_TOKEN": "tok-abcdefgh"}


def test_defaults() -> None:
    """The documented defaults apply when only the required settings are present."""
    s = Settings.from_env(BASE)
    assert s.base_url == "https://gateway.ai.cloudflare.com/v1/acct/gw/openai"
    assert (s.default_api, s.default_model) == ("responses", "gpt-4o-mini")
    assert s.secret_cache_ttl == 300
    assert s.max_retries >= 1
    assert s.max_body_bytes == 8 * 1024 * 1024
    assert s.allowed_models is None
    assert not s.has_openai_key


def test_base_url_override() -> None:
    """AIG_BASE_URL replaces the whole base URL (trailing slash dropped)."""
    s = Settings.from_env({"AIG_BASE_URL": "http://127.0.0.1:9/v1/a/g/openai/", "AIG_TOKEN": "t"})
    assert s.base_url == "http://127.0.0.1:9/v1/a/g/openai"


@pytest.mark.parametrize(
    ("raw", "resolved"),
    [
        ("projects/p1/secrets/s1/versions/3", "projects/p1/secrets/s1/versions/3"),
        ("projects/p1/secrets/s1", "projects/p1/secrets/s1/versions/latest"),
        ("s1", "projects/home/secrets/s1/versions/latest"),
    ],
)
def test_secret_name_forms(raw: str, resolved: str) -> None:
    """All three secret name forms resolve to a full version name."""
    s = Settings.from_env({**BASE, "AIG_TOKEN_SECRET": raw, "GOOGLE_CLOUD_PROJECT": "home"})
    assert s.aig_token_secret == resolved
    # *_SECRET wins over the env value when both are set.
    assert s.aig_token is None


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"AIG_GATEWAY_ID": "gw", "AIG_TOKEN": "t"}, "AIG_ACCOUNT_ID"),
        ({"AIG_ACCOUNT_ID": "a", "AIG_GATEWAY_ID": "gw"}, "AIG_TOKEN_SECRET or AIG_TOKEN"),
        ({**BASE, "AIG_TOKEN_SECRET": "bare"}, "GOOGLE_CLOUD_PROJECT"),
        ({**BASE, "AIG_TOKEN_SECRET": "projects//x"}, "AIG_TOKEN_SECRET"),
        ({**BASE, "DEFAULT_API": "completions"}, "DEFAULT_API"),
        ({**BASE, "UPSTREAM_TIMEOUT_SECONDS": "soon"}, "UPSTREAM_TIMEOUT_SECONDS"),
        ({**BASE, "UPSTREAM_TIMEOUT_SECONDS": "nan"}, "UPSTREAM_TIMEOUT_SECONDS"),
        ({**BASE, "MAX_RETRIES": "-1"}, "MAX_RETRIES"),
        ({**BASE, "MAX_BODY_BYTES": "1.5"}, "MAX_BODY_BYTES"),
        ({**BASE, "SECRET_CACHE_TTL_SECONDS": "x"}, "SECRET_CACHE_TTL_SECONDS"),
        ({**BASE, "ALLOWED_MODELS": " , "}, "ALLOWED_MODELS"),
        ({**BASE, "LOG_PROMPTS": "maybe"}, "LOG_PROMPTS"),
        ({**BASE, "AIG_BASE_URL": "ftp://x"}, "AIG_BASE_URL"),
        ({**BASE, "AIG_ACCOUNT_ID": "a/../b"}, "AIG_ACCOUNT_ID"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    """A missing or malformed setting is a ConfigError naming the variable."""
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert names in info.value.message


def test_secret_value_never_shows() -> None:
    """Secrets are masked in repr and str, in the settings repr too."""
    s = Settings.from_env({**BASE, "OPENAI_API_KEY": "sk-very-secret-value"})
    for text in (repr(s), str(s), repr(s.openai_key), str(s.openai_key), f"{s.aig_token}"):
        assert "very-secret" not in text and "tok-abcdefgh" not in text
    assert s.openai_key == Secret("sk-very-secret-value")
    assert s.has_openai_key


def test_control_characters_in_env_secret_are_refused_without_echo() -> None:
    """A token with a newline would split a header: refused, and the value is not echoed."""
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**BASE, "AIG_TOKEN": "abc\ndef-secret"})
    assert "def-secret" not in info.value.message


def test_trace_span_is_hex() -> None:
    """X-Cloud-Trace-Context's decimal span id is logged as 16 hex digits."""
    from relay import trace_field

    fields = trace_field({"x-cloud-trace-context": "4bf92f3577b34da6a3ce929d0e0e4736/255;o=1"}, "p")
    assert fields["logging.googleapis.com/trace"] == (
        "projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert fields["logging.googleapis.com/spanId"] == "00000000000000ff"
