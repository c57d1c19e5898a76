"""The core: settings, secrets, request model, gateway client, normalization, errors and logs.

Free of web-framework imports; `handlers/` adapts HTTP and CloudEvents onto `Relay`.
"""

from ._answer import new_request_id
from ._errors import (
    BodyTimeout,
    ConfigError,
    ContentBlocked,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    ModelNotAllowed,
    PayloadTooLarge,
    RateLimited,
    RelayError,
    SecretUnavailable,
    UnsupportedMediaType,
    UpstreamAuth,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
)
from ._logging import log, trace_field
from ._request import REQUEST_ID, PromptRequest, decode_prompt, decode_request
from ._secrets import SecretManagerStore, Secrets
from ._service import Answer, Context, Relay, config_error_answer
from ._settings import Secret, Settings
from ._trace_context import TraceContext

__all__ = [
    "REQUEST_ID",
    "Answer",
    "BodyTimeout",
    "ConfigError",
    "ContentBlocked",
    "Context",
    "InternalError",
    "InvalidRequest",
    "MethodNotAllowed",
    "ModelNotAllowed",
    "PayloadTooLarge",
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
