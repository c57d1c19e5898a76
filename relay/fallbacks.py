"""Model fallbacks and gateway dynamic routes: which models a request may try, and when the next.

A request names one model and at most `MAX_FALLBACK_MODELS` more (`fallback_models`); each is
checked against ALLOWED_MODELS before anything goes upstream. The next one is tried, inside the
request's one deadline, only after a failure another model may not share (`FALL_BACK_ON`: a rate
limit, a used-up budget, an upstream failure or timeout) and only with time left for a useful
attempt. A guardrail block, a rejected request, an auth failure or a policy denial would end the
same way for any model, so they end the request.

A model named `dynamic/<route>` is one of the gateway's dynamic routes. Those are served by the
gateway's unified, OpenAI-compatible endpoint `/v1/{account}/{gateway}/compat/chat/completions`
(Cloudflare's `features/dynamic-routing/usage`), Chat Completions only; its URL is derived from
the configured base URL (which ends in `/openai`), so no request can change the host.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from .errors import InvalidRequest, ModelNotAllowed, RelayError
from .request import MAX_FALLBACK_MODELS, Api
from .retry import MIN_ATTEMPT_SECONDS

__all__ = [
    "DYNAMIC_PREFIX",
    "FALL_BACK_ON",
    "MAX_FALLBACK_MODELS",
    "api_for_model",
    "can_fall_back",
    "checked_models",
    "in_turn",
    "is_dynamic",
    "unified_base_url",
]

FALL_BACK_ON = frozenset({"rate_limited", "budget_exceeded", "upstream_error", "upstream_timeout"})
DYNAMIC_PREFIX = "dynamic/"
_OPENAI_SUFFIX = "/openai"
UNIFIED_SUFFIX = "/compat"
C = TypeVar("C")
T = TypeVar("T")


def checked_models(
    primary: str, fallbacks: Sequence[str] | None, allowed: frozenset[str] | None
) -> list[str]:
    """`[primary, *fallbacks]`, each one in ALLOWED_MODELS (when set), or ModelNotAllowed."""
    if allowed is not None:
        if primary not in allowed:
            raise ModelNotAllowed(f"model {primary[:100]!r} is not in ALLOWED_MODELS")
        for index, model in enumerate(fallbacks or ()):
            if model not in allowed:
                raise ModelNotAllowed(
                    f"fallback_models[{index}] {model[:100]!r} is not in ALLOWED_MODELS"
                )
    return [primary, *(fallbacks or ())]


def can_fall_back(error: RelayError, time_left: float, min_attempt: float) -> bool:
    """Whether the next model is worth trying after `error`, with `time_left` seconds left."""
    return error.type in FALL_BACK_ON and time_left >= min_attempt


def is_dynamic(model: str) -> bool:
    return model.startswith(DYNAMIC_PREFIX)


def api_for_model(model: str, asked: Api | None, default: Api) -> Api:
    """The API a model is called with: a dynamic route takes Chat Completions only."""
    if not is_dynamic(model):
        return asked or default
    if asked == "responses":
        raise InvalidRequest(
            f"model {model[:100]!r} is a gateway dynamic route, which takes api 'chat' only"
        )
    return "chat"


def unified_base_url(base_url: str) -> str | None:
    """The gateway's unified endpoint beside its OpenAI one; None when the base URL does not end
    in `/openai` (then there is no gateway root to derive it from)."""
    if not base_url.endswith(_OPENAI_SUFFIX):
        return None
    return base_url.removesuffix(_OPENAI_SUFFIX) + UNIFIED_SUFFIX


async def in_turn(
    calls: Sequence[C],
    answer: Callable[[C], Awaitable[T]],
    *,
    time_left: Callable[[], float],
    fell_back: Callable[[C, RelayError], None],
) -> T:
    """`answer(call)` for each call in turn until one answers or a failure ends the request.

    `fell_back(call, error)` is told of each call given up for the next one.
    """
    for index, call in enumerate(calls):
        try:
            return await answer(call)
        except RelayError as error:
            last = index == len(calls) - 1
            if last or not can_fall_back(error, time_left(), MIN_ATTEMPT_SECONDS):
                raise
            fell_back(call, error)
    raise AssertionError("in_turn needs at least one call")
