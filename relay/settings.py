"""Settings: every environment variable the function reads, parsed once into a typed value.

A missing or malformed setting raises ConfigError naming the variable and what it should be.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .cost import Price, parse_custom_prices
from .env import bucket as _bucket
from .env import buckets as _buckets
from .env import flag as _flag
from .env import integer as _integer
from .env import number as _number
from .env import optional_flag as _optional_flag
from .env import prefix as _prefix
from .env import text as _text
from .env import topic as _topic
from .env import url as _url
from .errors import ConfigError
from .identity import parse_identity_metadata

__all__ = [
    "DEFAULT_API",
    "DEFAULT_LOG_LEVEL",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MODEL",
    "DEFAULT_SECRET_CACHE_TTL_SECONDS",
    "DEFAULT_UPSTREAM_TIMEOUT_SECONDS",
    "GATEWAY_HOST_URL",
    "MAX_MODEL_CHARS",
    "Secret",
    "Settings",
    "credential_problem",
    "log_level_from_env",
]

Api = Literal["responses", "chat"]

GATEWAY_HOST_URL = "https://gateway.ai.cloudflare.com"
DEFAULT_API: Api = "responses"
DEFAULT_MODEL = "gpt-4o-mini"
# The contract's bound on a model name (request field and DEFAULT_MODEL alike).
MAX_MODEL_CHARS = 256
DEFAULT_SECRET_CACHE_TTL_SECONDS = 300.0
# Long enough for a slow reasoning answer; keep it below the platform's function timeout.
DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 120.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
# A secret store outage must answer in seconds, not after the client library's 60 s retry.
DEFAULT_SECRET_TIMEOUT_SECONDS = 5.0
# How long a secret fetched earlier may still be served while the store is failing.
DEFAULT_SECRET_MAX_STALE_SECONDS = 3600.0
# A body must arrive within this: a caller trickling a byte every few seconds is cut off.
DEFAULT_BODY_TIMEOUT_SECONDS = 10.0
DEFAULT_BATCH_MAX_ITEMS = 50
DEFAULT_BATCH_CONCURRENCY = 8
DEFAULT_RESULTS_PREFIX = "results/"
# The most one delivery (all sinks, retries included) may take before it counts as failed.
DEFAULT_DELIVERY_TIMEOUT_SECONDS = 10.0
DEFAULT_LOG_LEVEL = "INFO"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_SECRET_ID = r"[A-Za-z0-9_-]{1,255}"  # noqa: S105 - a name pattern, not a password
_SECRET_NAME_FORMS = (
    re.compile(
        rf"projects/(?P<project>[^/\s]+)/secrets/(?P<secret>{_SECRET_ID})/versions/(?P<version>[A-Za-z0-9_-]+)"
    ),
    re.compile(rf"projects/(?P<project>[^/\s]+)/secrets/(?P<secret>{_SECRET_ID})"),
    re.compile(rf"(?P<secret>{_SECRET_ID})"),
)
# Pub/Sub topic ids: 3-255 characters, starting with a letter, not starting with "goog".
# Cloud Storage bucket names: lowercase letters, digits, - _ . ; begin and end with a letter/digit.
_ID_PART = re.compile(r"[A-Za-z0-9_-]{1,128}")
_BYOK_ALIAS = re.compile(r"[A-Za-z0-9._-]{1,64}")  # as the request's byok_alias


class Secret:
    """A secret value that never shows itself in a repr, str, log or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: only for building an upstream header."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The function's configuration, read from the environment by `Settings.from_env`."""

    base_url: str
    aig_token_secret: str | None = None
    aig_token: Secret | None = field(default=None, repr=False)
    openai_key_secret: str | None = None
    openai_key: Secret | None = field(default=None, repr=False)
    project: str | None = None
    secretmanager_emulator_host: str | None = None
    secret_cache_ttl: float = DEFAULT_SECRET_CACHE_TTL_SECONDS
    secret_timeout: float = DEFAULT_SECRET_TIMEOUT_SECONDS
    secret_max_stale: float = DEFAULT_SECRET_MAX_STALE_SECONDS
    default_api: Api = DEFAULT_API
    default_model: str = DEFAULT_MODEL
    allowed_models: frozenset[str] | None = None
    upstream_timeout: float = DEFAULT_UPSTREAM_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS
    batch_max_items: int = DEFAULT_BATCH_MAX_ITEMS
    batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY
    log_prompts: bool = False
    # Negotiated prices (CUSTOM_PRICES), by lower-cased model name; see relay/cost.py.
    custom_prices: Mapping[str, Price] = field(default_factory=dict, hash=False)
    # TRACING=otel: OpenTelemetry spans, exported over OTLP/HTTP (see relay/tracing/).
    tracing: bool = False
    # Where spans go; None: Cloud Trace's OTLP endpoint with the function's own credentials.
    tracing_endpoint: str | None = None
    # Result sinks (docs/delivery.md): a full topic name, a bucket and an object prefix.
    results_topic: str | None = None
    results_bucket: str | None = None
    results_prefix: str = DEFAULT_RESULTS_PREFIX
    # Bulk runs (docs/bulk.md): the topic each item is published to (the prompts topic).
    bulk_topic: str | None = None
    # The buckets bulk runs may read and write (BULK_BUCKETS); None: any (local runs).
    bulk_buckets: frozenset[str] | None = None
    delivery_timeout: float = DEFAULT_DELIVERY_TIMEOUT_SECONDS
    # Deployment-wide defaults for the gateway controls; a request's own fields win. None: no
    # header, so the gateway's dashboard setting applies.
    gateway_collect_log: bool | None = None
    gateway_collect_log_payload: bool | None = None
    # IDENTITY_METADATA: the identity keys sent in cf-aig-metadata (relay/identity.py).
    identity_metadata: tuple[str, ...] = ()
    gateway_zdr: bool | None = None
    gateway_byok_alias: str | None = None
    log_level: str = DEFAULT_LOG_LEVEL

    @property
    def has_openai_key(self) -> bool:
        """True when an OpenAI key is configured; otherwise BYOK / Unified Billing."""
        return self.openai_key_secret is not None or self.openai_key is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read every setting from `env`; raise ConfigError naming the first bad one."""
        project = _text(env, "GOOGLE_CLOUD_PROJECT")
        aig_token_secret = _secret_name(env, "AIG_TOKEN_SECRET", project)
        aig_token = _secret_value(env, "AIG_TOKEN")
        if aig_token_secret is None and aig_token is None:
            raise ConfigError(
                "AIG_TOKEN_SECRET or AIG_TOKEN must be set: the Secret Manager name of the "
                "Cloudflare AI Gateway token, or the token itself"
            )
        openai_key_secret = _secret_name(env, "OPENAI_API_KEY_SECRET", project)
        openai_key = _secret_value(env, "OPENAI_API_KEY")
        allowed_models = _allowed_models(env)
        upstream_timeout = _number(
            env, "UPSTREAM_TIMEOUT_SECONDS", DEFAULT_UPSTREAM_TIMEOUT_SECONDS, low=0.1, high=3600
        )
        return cls(
            base_url=_base_url(env),
            # `*_SECRET` wins when both forms are set, so a stale env value cannot shadow rotation.
            aig_token_secret=aig_token_secret,
            aig_token=None if aig_token_secret else aig_token,
            openai_key_secret=openai_key_secret,
            openai_key=None if openai_key_secret else openai_key,
            project=project,
            secretmanager_emulator_host=_text(env, "SECRETMANAGER_EMULATOR_HOST"),
            secret_cache_ttl=_number(
                env, "SECRET_CACHE_TTL_SECONDS", DEFAULT_SECRET_CACHE_TTL_SECONDS, low=0, high=86400
            ),
            secret_timeout=_number(
                env, "SECRET_TIMEOUT_SECONDS", DEFAULT_SECRET_TIMEOUT_SECONDS, low=0.1, high=60
            ),
            secret_max_stale=_number(
                env, "SECRET_MAX_STALE_SECONDS", DEFAULT_SECRET_MAX_STALE_SECONDS, low=0, high=86400
            ),
            default_api=_api(env),
            default_model=_default_model(env, allowed_models),
            allowed_models=allowed_models,
            upstream_timeout=upstream_timeout,
            max_retries=_integer(env, "MAX_RETRIES", DEFAULT_MAX_RETRIES, low=0, high=10),
            max_body_bytes=_integer(
                env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, low=1024, high=32 * 1024 * 1024
            ),
            body_timeout=_number(
                env, "BODY_TIMEOUT_SECONDS", DEFAULT_BODY_TIMEOUT_SECONDS, low=0.1, high=3600
            ),
            batch_max_items=_integer(
                env, "BATCH_MAX_ITEMS", DEFAULT_BATCH_MAX_ITEMS, low=1, high=1000
            ),
            batch_concurrency=_integer(
                env, "BATCH_CONCURRENCY", DEFAULT_BATCH_CONCURRENCY, low=1, high=256
            ),
            log_prompts=_flag(env, "LOG_PROMPTS"),
            custom_prices=parse_custom_prices(_text(env, "CUSTOM_PRICES")),
            tracing=_tracing(env),
            tracing_endpoint=_url(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            results_topic=_topic(env, "RESULTS_TOPIC", project),
            results_bucket=_bucket(env, "RESULTS_BUCKET"),
            results_prefix=_prefix(env, "RESULTS_PREFIX", DEFAULT_RESULTS_PREFIX),
            bulk_topic=_topic(env, "BULK_TOPIC", project),
            bulk_buckets=_buckets(env, "BULK_BUCKETS"),
            delivery_timeout=_number(
                env,
                "DELIVERY_TIMEOUT_SECONDS",
                DEFAULT_DELIVERY_TIMEOUT_SECONDS,
                low=0.5,
                high=300,
            ),
            gateway_collect_log=_optional_flag(env, "GATEWAY_COLLECT_LOG"),
            gateway_collect_log_payload=_optional_flag(env, "GATEWAY_COLLECT_LOG_PAYLOAD"),
            gateway_zdr=_optional_flag(env, "GATEWAY_ZDR"),
            gateway_byok_alias=_byok_alias(env),
            identity_metadata=parse_identity_metadata(_text(env, "IDENTITY_METADATA")),
            log_level=log_level_from_env(env),
        )


def _base_url(env: Mapping[str, str]) -> str:
    override = _text(env, "AIG_BASE_URL")
    if override is not None:
        if not override.startswith(("http://", "https://")) or any(c.isspace() for c in override):
            raise ConfigError("AIG_BASE_URL must be an http(s) URL ending in /openai")
        return override.rstrip("/")
    account, gateway = _text(env, "AIG_ACCOUNT_ID"), _text(env, "AIG_GATEWAY_ID")
    if account is None or gateway is None:
        raise ConfigError(
            "AIG_ACCOUNT_ID and AIG_GATEWAY_ID must be set (or AIG_BASE_URL for a local gateway)"
        )
    for name, value in (("AIG_ACCOUNT_ID", account), ("AIG_GATEWAY_ID", gateway)):
        if not _ID_PART.fullmatch(value):
            raise ConfigError(f"{name} must be letters, digits, '-' or '_' (at most 128)")
    return f"{GATEWAY_HOST_URL}/v1/{account}/{gateway}/openai"


def _secret_name(env: Mapping[str, str], name: str, project: str | None) -> str | None:
    """Resolve any of the three accepted name forms to a full version name."""
    raw = _text(env, name)
    if raw is None:
        return None
    for form in _SECRET_NAME_FORMS:
        match = form.fullmatch(raw)
        if match is None:
            continue
        parts = match.groupdict()
        secret_project = parts.get("project") or project
        if secret_project is None:
            raise ConfigError(f"{name} is a bare secret name, so GOOGLE_CLOUD_PROJECT must be set")
        version = parts.get("version") or "latest"
        return f"projects/{secret_project}/secrets/{parts['secret']}/versions/{version}"
    raise ConfigError(
        f"{name} must be projects/P/secrets/S/versions/V, projects/P/secrets/S or a bare secret id"
    )


def credential_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a credential header, or None when it can.

    A header carries visible ASCII only: a control character would break the request, and a
    non-ASCII one (a UTF-8 byte-order mark from an editor is enough) cannot be encoded at all.
    The answer never quotes the value: it is a credential.
    """
    if not value:
        return "is empty"
    if not value.isascii():
        return "holds non-ASCII characters (a byte-order mark?); a header cannot carry them"
    if not value.isprintable() or " " in value:
        return "holds control characters or spaces; a header cannot carry them"
    return None


def _secret_value(env: Mapping[str, str], name: str) -> Secret | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if problem := credential_problem(raw):
        raise ConfigError(f"{name} {problem}")
    return Secret(raw)


def _api(env: Mapping[str, str]) -> Api:
    value = (_text(env, "DEFAULT_API") or DEFAULT_API).lower()
    if value == "responses":
        return "responses"
    if value == "chat":
        return "chat"
    raise ConfigError(f"DEFAULT_API must be 'responses' or 'chat', not {value[:40]!r}")


def _default_model(env: Mapping[str, str], allowed: frozenset[str] | None) -> str:
    model = _text(env, "DEFAULT_MODEL") or DEFAULT_MODEL
    if len(model) > MAX_MODEL_CHARS or not model.isprintable():
        raise ConfigError(f"DEFAULT_MODEL must be at most {MAX_MODEL_CHARS} visible characters")
    if allowed is not None and model not in allowed:
        # Otherwise every request without a model would be refused, blaming the caller.
        raise ConfigError(f"DEFAULT_MODEL {model!r} is not in ALLOWED_MODELS")
    return model


def _allowed_models(env: Mapping[str, str]) -> frozenset[str] | None:
    raw = _text(env, "ALLOWED_MODELS")
    if raw is None:
        return None
    models = frozenset(part.strip() for part in raw.split(",") if part.strip())
    if not models:
        raise ConfigError("ALLOWED_MODELS must list at least one model name, comma-separated")
    return models


def _tracing(env: Mapping[str, str]) -> bool:
    value = (_text(env, "TRACING") or "off").lower()
    if value not in ("off", "otel"):
        raise ConfigError(f"TRACING must be 'off' or 'otel', not {value[:40]!r}")
    return value == "otel"


def _byok_alias(env: Mapping[str, str]) -> str | None:
    raw = _text(env, "GATEWAY_BYOK_ALIAS")
    if raw is not None and not _BYOK_ALIAS.fullmatch(raw):
        raise ConfigError("GATEWAY_BYOK_ALIAS must be 1 to 64 of A-Z a-z 0-9 . _ -")
    return raw


def log_level_from_env(env: Mapping[str, str]) -> str:
    """LOG_LEVEL, upper-cased; read on its own too, since logging starts before the settings."""
    value = (_text(env, "LOG_LEVEL") or DEFAULT_LOG_LEVEL).upper()
    if value not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, not {value[:40]!r}")
    return value
