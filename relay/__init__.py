"""The core: settings, secrets, request model, gateway client, normalization, errors and logs.

Free of web-framework imports; `handlers/` adapts HTTP onto `Relay` and Pub/Sub messages onto
`events`. The flat modules hold one concern each; `bulk`, `delivery`, `events` and `tracing` are
families behind a public `__init__` (bulk runs, delivery and the event core load on first use,
OpenTelemetry only when TRACING=otel).
"""

from .errors import (
    BodyTimeout,
    BudgetExceeded,
    ConfigError,
    ContentBlocked,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    ModelNotAllowed,
    PayloadTooLarge,
    PolicyDenied,
    RateLimited,
    RelayError,
    SecretUnavailable,
    UnsupportedMediaType,
    UpstreamAuth,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
)
from .logs import log, trace_field
from .outcome import Answer, Context, config_error_answer, new_request_id
from .request import REQUEST_ID, BulkBody, PromptRequest, decode_prompt, decode_request
from .secretmanager import SecretManagerStore
from .secrets import Secrets
from .service import Relay
from .settings import Secret, Settings
from .tracing import TraceContext

__all__ = [
    "REQUEST_ID",
    "Answer",
    "BodyTimeout",
    "BudgetExceeded",
    "BulkBody",
    "ConfigError",
    "ContentBlocked",
    "Context",
    "InternalError",
    "InvalidRequest",
    "MethodNotAllowed",
    "ModelNotAllowed",
    "PayloadTooLarge",
    "PolicyDenied",
    "PromptRequest",
    "RateLimited",
    "Relay",
    "RelayError",
    "Secret",
    "SecretManagerStore",
    "SecretUnavailable",
    "Secrets",
    "Settings",
    "TraceContext",
    "UnsupportedMediaType",
    "UpstreamAuth",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamTimeout",
    "config_error_answer",
    "decode_prompt",
    "decode_request",
    "log",
    "new_request_id",
    "trace_field",
]
