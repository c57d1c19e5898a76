"""Translation: a validated request into one upstream call (path, JSON body, headers).

The flat request shape is mapped onto each API's wire format here and nowhere else; the call's
headers come from `upstream_headers`, which also adds each attempt's (credentials among them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, InvalidRequest, ModelNotAllowed
from .fallbacks import api_for_model, is_dynamic, unified_base_url
from .identity import Identity
from .messages import Message, Tool, ToolChoiceFunction
from .request import Api, JsonSchema, PromptRequest
from .settings import Settings
from .tracing import TraceContext
from .upstream_headers import call_headers

__all__ = ["RESERVED_BODY_FIELDS", "UpstreamCall", "build_call"]

PATHS: dict[Api, str] = {"responses": "/responses", "chat": "/chat/completions"}

# Upstream body fields the contract derives from named request fields: extra_body may not set
# them, so the escape hatch can never override what a caller asked for by name (or switch on
# streaming behind the normalizer's back).
RESERVED_BODY_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "messages",
        "max_output_tokens",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "text",
        "response_format",
        "tools",
        "tool_choice",
        "reasoning",
        "reasoning_effort",
        "stream",
        "stream_options",
        "metadata",
        # Would change what is billed or answered behind the result's back: background runs
        # answer "queued", `n` bills choices the result drops, legacy functions bypass `tools`.
        "background",
        "n",
        "functions",
        "function_call",
        # Priced per tier: the result's cost_usd follows the request's own field.
        "service_tier",
    }
)


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """Everything needed to send one request upstream, credentials aside."""

    api: Api
    model: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    stream: bool = False
    # A dynamic route: sent to the gateway's unified endpoint, not its OpenAI one.
    unified: bool = False


def build_call(
    request: PromptRequest,
    settings: Settings,
    *,
    default_metadata: Mapping[str, str] | None = None,
    identity: Identity | None = None,
    trace: TraceContext | None = None,
    allow_stream: bool = True,
    model: str | None = None,
    default_service_tier: str | None = None,
    default_cache_key: str | None = None,
) -> UpstreamCall:
    """Map `request` onto the API it asks for (`model`, a fallback, replacing its own); raise on
    a model outside the allow-list. Without `allow_stream` a stream is sent as a plain call."""
    model = model or request.model or settings.default_model
    api: Api = api_for_model(model, request.api, settings.default_api)
    if request.input is not None and api == "chat":
        raise InvalidRequest("input is Responses-style; with api 'chat' send prompt or messages")
    if (unified := is_dynamic(model)) and unified_base_url(settings.base_url) is None:
        raise ConfigError("dynamic routes need AIG_BASE_URL ending in /openai")
    if settings.allowed_models is not None and model not in settings.allowed_models:
        raise ModelNotAllowed(f"model {model[:100]!r} is not in ALLOWED_MODELS")
    stream = bool(request.stream) and allow_stream
    make_body = _responses_body if api == "responses" else _chat_body
    body = make_body(request, model, stream)
    if (tier := request.service_tier or default_service_tier) is not None:
        body["service_tier"] = tier  # the same field in both APIs
    if request.extra_body:
        clash = sorted(RESERVED_BODY_FIELDS.intersection(request.extra_body))
        if clash:
            raise InvalidRequest(
                f"extra_body cannot set {', '.join(clash)}: use the request's own fields"
            )
        body.update(request.extra_body)
    return UpstreamCall(
        api=api,
        model=model,
        path=PATHS[api],
        body=body,
        headers=call_headers(
            request,
            settings,
            model,
            default_metadata=default_metadata,
            trace=trace,
            identity=identity,
            default_cache_key=default_cache_key,
        ),
        stream=stream,
        unified=unified,
    )


def _responses_body(request: PromptRequest, model: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model}
    if request.prompt is not None:
        body["input"] = request.prompt
    elif request.messages is not None:
        body["input"] = [item for m in request.messages for item in _responses_items(m)]
    else:
        body["input"] = request.input
    if request.instructions is not None:
        body["instructions"] = request.instructions
    if request.max_output_tokens is not None:
        body["max_output_tokens"] = request.max_output_tokens
    _common_sampling(request, body)
    if request.json_schema is not None:
        schema = request.json_schema
        body["text"] = {"format": {"type": "json_schema", **_schema_fields(schema)}}
    if request.tools is not None:
        body["tools"] = [{"type": "function", **_tool_fields(tool)} for tool in request.tools]
    if isinstance(request.tool_choice, ToolChoiceFunction):
        body["tool_choice"] = {"type": "function", "name": request.tool_choice.name}
    elif request.tool_choice is not None:
        body["tool_choice"] = request.tool_choice
    if request.reasoning_effort is not None:
        body["reasoning"] = {"effort": request.reasoning_effort}
    if stream:
        body["stream"] = True
    return body


def _chat_body(request: PromptRequest, model: str, stream: bool) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if request.instructions is not None:
        messages.append({"role": "system", "content": request.instructions})
    if request.prompt is not None:
        messages.append({"role": "user", "content": request.prompt})
    else:
        messages.extend(_chat_message(m) for m in request.messages or ())
    body: dict[str, Any] = {"model": model, "messages": messages}
    if request.max_output_tokens is not None:
        body["max_completion_tokens"] = request.max_output_tokens
    _common_sampling(request, body)
    if request.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": _schema_fields(request.json_schema),
        }
    if request.tools is not None:
        body["tools"] = [{"type": "function", "function": _tool_fields(t)} for t in request.tools]
    if isinstance(request.tool_choice, ToolChoiceFunction):
        body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice.name}}
    elif request.tool_choice is not None:
        body["tool_choice"] = request.tool_choice
    if request.reasoning_effort is not None:
        body["reasoning_effort"] = request.reasoning_effort
    if stream:
        # Without this, a Chat stream carries no usage and the result could not report tokens.
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _content(message: Message, api: Api) -> Any:
    content = message.content
    if isinstance(content, list):
        return [_part(part, api, message.role) for part in content]
    return content


def _chat_message(message: Message) -> dict[str, Any]:
    """One Chat message: tool calls and tool outputs in Chat's own spelling."""
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": _content(message, "chat"),
        }
    converted: dict[str, Any] = {"role": message.role, "content": _content(message, "chat")}
    if message.tool_calls is not None:
        converted["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    return converted


def _responses_items(message: Message) -> list[dict[str, Any]]:
    """The Responses input items for one message: a message item, and one item per call."""
    if message.role == "tool":
        output = _content(message, "responses")
        return [{"type": "function_call_output", "call_id": message.tool_call_id, "output": output}]
    items: list[dict[str, Any]] = []
    if message.content is not None:
        items.append({"role": message.role, "content": _content(message, "responses")})
    for call in message.tool_calls or ():
        items.append(
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
            }
        )
    return items


def _part(part: dict[str, Any], api: Api, role: str) -> dict[str, Any]:
    """A content part in the other API's spelling (text and images); others pass through."""
    kind = part.get("type")
    if api == "responses":
        if kind == "text":
            text_type = "output_text" if role == "assistant" else "input_text"
            return {"type": text_type, "text": part.get("text")}
        if kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            converted = {"type": "input_image", "image_url": url}
            if isinstance(image, dict) and "detail" in image:
                converted["detail"] = image["detail"]
            return converted
    else:
        if kind in ("input_text", "output_text"):
            return {"type": "text", "text": part.get("text")}
        if kind == "input_image":
            image_url: dict[str, Any] = {"url": part.get("image_url")}
            if "detail" in part:
                image_url["detail"] = part["detail"]
            return {"type": "image_url", "image_url": image_url}
    return part


def _common_sampling(request: PromptRequest, body: dict[str, Any]) -> None:
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p


def _schema_fields(schema: JsonSchema) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": schema.name, "schema": schema.schema}
    if schema.strict is not None:
        fields["strict"] = schema.strict
    if schema.description is not None:
        fields["description"] = schema.description
    return fields


def _tool_fields(tool: Tool) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        fields["description"] = tool.description
    fields["parameters"] = tool.parameters
    if tool.strict is not None:
        fields["strict"] = tool.strict
    return fields
