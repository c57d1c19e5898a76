"""Errors the function answers with: one class per row of the contract's error table.

    RelayError                    (base: type, HTTP status, retryable, upstream status and code)
    ├── InvalidRequest            400  invalid_request
    │   └── BodyTimeout           408  invalid_request (the body did not arrive in time)
    ├── ModelNotAllowed           400  model_not_allowed
    ├── MethodNotAllowed          405  method_not_allowed
    ├── PayloadTooLarge           413  payload_too_large
    ├── UnsupportedMediaType      415  unsupported_media_type
    ├── UpstreamRejected          400  upstream_rejected
    ├── ContentBlocked            422  content_blocked
    ├── RateLimited               429  rate_limited
    ├── BudgetExceeded            429  budget_exceeded (not retryable)
    ├── PolicyDenied              403  policy_denied
    ├── UpstreamAuth              502  upstream_auth
    ├── UpstreamError             502  upstream_error
    ├── UpstreamTimeout           504  upstream_timeout
    ├── SecretUnavailable         503  secret_unavailable
    ├── ConfigError               500  config_error
    └── InternalError             500  internal

Messages are written for the caller: they name what was wrong and never carry a secret.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .scrub import passed_on_code, scrub

__all__ = [
    "BLOCKED_CODES",
    "UPSTREAM_STATUS_ERRORS",
    "BodyTimeout",
    "BudgetExceeded",
    "ConfigError",
    "ContentBlocked",
    "InternalError",
    "InvalidRequest",
    "MethodNotAllowed",
    "ModelNotAllowed",
    "PayloadTooLarge",
    "PolicyDenied",
    "RateLimited",
    "RelayError",
    "SecretUnavailable",
    "UnsupportedMediaType",
    "UpstreamAuth",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamTimeout",
    "upstream_error_type",
]


class RelayError(Exception):
    """An answer-worthy failure: the contract's error object plus its HTTP status."""

    type: ClassVar[str] = "internal"
    status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        upstream_code: str | int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.upstream_status = upstream_status
        self.upstream_code = upstream_code
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """The contract's `error` object."""
        return {
            "type": self.type,
            # Scrubbed here too: this is the one way an error reaches an answer or an event.
            "message": scrub(self.message),
            "retryable": self.retryable,
            "upstream_status": self.upstream_status,
            "upstream_code": passed_on_code(self.upstream_code),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidRequest(RelayError):
    """The body is not JSON, not an object, or a field is wrong, missing or unknown."""

    type = "invalid_request"
    status = 400


class BodyTimeout(InvalidRequest):
    """The body did not arrive in time (a caller trickling bytes): 408, typed invalid_request."""

    status = 408


class ModelNotAllowed(RelayError):
    """The model is outside ALLOWED_MODELS."""

    type = "model_not_allowed"
    status = 400


class MethodNotAllowed(RelayError):
    """Only POST runs a prompt."""

    type = "method_not_allowed"
    status = 405


class PayloadTooLarge(RelayError):
    """The body is larger than MAX_BODY_BYTES."""

    type = "payload_too_large"
    status = 413


class UnsupportedMediaType(RelayError):
    """The body is not declared as JSON."""

    type = "unsupported_media_type"
    status = 415


class UpstreamRejected(RelayError):
    """The gateway or the provider called the request invalid (400, 404, 422)."""

    type = "upstream_rejected"
    status = 400


class ContentBlocked(RelayError):
    """The gateway's guardrails or DLP blocked the prompt or the answer (2016, 2017, 2029, 2030)."""

    type = "content_blocked"
    status = 422


class RateLimited(RelayError):
    """Upstream answered 429 and retries did not get past it."""

    type = "rate_limited"
    status = 429
    retryable = True


class BudgetExceeded(RelayError):
    """The gateway's spend limit (or a policy's spend cap, or the guardrail scanner's credits) is
    used up: nothing changes until the budget window resets, so it is never retried."""

    type = "budget_exceeded"
    status = 429


class PolicyDenied(RelayError):
    """A gateway policy refused this caller or model: not a credential problem."""

    type = "policy_denied"
    status = 403


class UpstreamAuth(RelayError):
    """The gateway or the provider refused our credentials (401, 403)."""

    type = "upstream_auth"
    status = 502


class UpstreamError(RelayError):
    """Upstream 5xx, a connection failure or an unexpected body, after retries."""

    type = "upstream_error"
    status = 502
    retryable = True


class UpstreamTimeout(RelayError):
    """UPSTREAM_TIMEOUT_SECONDS ran out."""

    type = "upstream_timeout"
    status = 504
    retryable = True


class SecretUnavailable(RelayError):
    """The secret store failed transiently and no cached value is at hand."""

    type = "secret_unavailable"
    status = 503
    retryable = True


class ConfigError(RelayError):
    """A setting is missing or wrong, or a secret does not exist or may not be read."""

    type = "config_error"
    status = 500


class InternalError(RelayError):
    """Anything else. The caller sees a fixed message; details go to the log only."""

    type = "internal"
    status = 500


# --- upstream HTTP errors onto the contract's rows: the one place this mapping lives ------------

# The gateway's own codes for a guardrail (2016 prompt, 2017 answer) or DLP (2029 prompt, 2030
# answer) block. Guardrail blocks answer 424; a scanner outage (503, 7013) is not a block.
BLOCKED_CODES = frozenset({2016, 2017, 2029, 2030})
GUARDRAIL_STATUS = 424
# The guardrail scanner is out of credits (402). Not a verdict on the content and not a fault
# that passes in seconds: a spend limit of the account's, so it is answered as budget_exceeded
# (not retried, acknowledged by events) until someone adds credits.
SCANNER_CREDITS_CODE = 2021
# The gateway's own spend-limit and policy answers carry no code: their message says which.
SPEND_LIMIT_MESSAGE = "spending limit exceeded"
POLICY_DENIED_MESSAGE = "access denied by policy"
# Upstream statuses with a row of their own; any other 4xx but 408/409 is the caller's request
# (upstream_rejected), anything else (408, 409, 5xx) is the upstream's trouble (upstream_error).
UPSTREAM_STATUS_ERRORS: dict[int, type[RelayError]] = {
    401: UpstreamAuth,
    403: UpstreamAuth,
    429: RateLimited,
    GUARDRAIL_STATUS: ContentBlocked,
}
_TRANSIENT_4XX = frozenset({408, 409})


def upstream_error_type(
    status: int,
    code: str | int | None = None,
    *,
    from_gateway: bool = False,
    message: str = "",
) -> type[RelayError]:
    """The contract's error class for an upstream HTTP error status (and the gateway's code and
    message: its spend-limit and policy answers are told apart from a provider's by them)."""
    said = message.strip().lower()
    if from_gateway and status == 403 and said.startswith(POLICY_DENIED_MESSAGE):
        return PolicyDenied  # the gateway answered before any credential reached a provider
    if status in (401, 403):
        return UpstreamAuth  # before anything else a body says: credentials come first
    if from_gateway:
        number = int(code) if isinstance(code, str) and code.isdigit() else code
        if number == SCANNER_CREDITS_CODE:
            return BudgetExceeded
        if status == 429 and said.startswith(SPEND_LIMIT_MESSAGE):
            return BudgetExceeded
        if number in BLOCKED_CODES or status == GUARDRAIL_STATUS:
            return ContentBlocked  # a 424 with a code not documented yet is still a verdict
    if status in UPSTREAM_STATUS_ERRORS and status != GUARDRAIL_STATUS:
        return UPSTREAM_STATUS_ERRORS[status]
    if 400 <= status < 500 and status not in _TRANSIENT_4XX:
        return UpstreamRejected
    return UpstreamError
