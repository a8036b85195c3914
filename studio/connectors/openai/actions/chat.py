"""Create Chat Completion (Prismatic "Create Chat Completion", n8n "Message a Model", ByteChef
"Ask ChatGPT"): one call to /chat/completions, optionally streamed token by token."""

from __future__ import annotations

import json
from typing import Any

from studio.connectors.openai.errors import map_stream_error, stream_cut_off
from studio.connectors.openai.stream_retry import with_stream_retries
from studio.engine.context import NodeContext, NodeError

from ._common import (
    InputError,
    api_call,
    bool_input,
    connect,
    handles,
    json_value,
    key_values,
    present,
    report_usage,
    string_list,
    timeout_kw,
    to_plain,
)

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
# Reasoning models refuse `max_tokens`; they take `max_completion_tokens` instead.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def chat_messages(ctx: NodeContext, key: str = "messages", prompt_key: str = "prompt") -> list[dict[str, Any]]:
    """The conversation: a list of {role, content} (as JSON or already parsed), or plain text
    taken as one user message. An optional system prompt input goes first."""
    raw = ctx.inputs.get(key)
    messages: list[dict[str, Any]]
    if isinstance(raw, str):
        text = raw.strip()
        parsed: Any = None
        if text.startswith("[") or text.startswith("{"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
        raw = parsed if parsed is not None else text
    if raw is None or raw == "" or raw == []:
        prompt = ctx.inputs.get(prompt_key)
        messages = [{"role": "user", "content": str(prompt)}] if prompt not in (None, "") else []
    elif isinstance(raw, str):
        messages = [{"role": "user", "content": raw}]
    elif isinstance(raw, dict):
        messages = [_message(ctx, raw, 0)]
    elif isinstance(raw, list):
        messages = [_message(ctx, item, i) for i, item in enumerate(raw)]
    else:
        raise InputError(f"{ctx.node.name}: 'Messages' must be a list of {{role, content}} or text")
    system = ctx.inputs.get("system_prompt") or ctx.inputs.get("system")
    if system:
        messages.insert(0, {"role": "system", "content": str(system)})
    if not messages:
        raise InputError(f"{ctx.node.name}: 'Messages' is required (at least one message)")
    return messages


def _message(ctx: NodeContext, item: Any, index: int) -> dict[str, Any]:
    if isinstance(item, str):
        return {"role": "user", "content": item}
    if not isinstance(item, dict):
        raise InputError(f"{ctx.node.name}: message {index + 1} must be an object with role and content")
    role = str(item.get("role") or "user").lower()
    if role not in ROLES:
        raise InputError(
            f"{ctx.node.name}: message {index + 1} has role {role!r}; expected one of "
            + ", ".join(sorted(ROLES))
        )
    message = {k: v for k, v in item.items() if v is not None}
    message["role"] = role
    if "content" not in message and role not in {"assistant"}:
        raise InputError(f"{ctx.node.name}: message {index + 1} has no content")
    return message


def _number(ctx: NodeContext, key: str) -> float | None:
    value = ctx.inputs.get(key)
    return None if value is None or value == "" else float(value)


def _integer(ctx: NodeContext, key: str) -> int | None:
    value = ctx.inputs.get(key)
    return None if value is None or value == "" else int(value)


def completion_params(ctx: NodeContext, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The request body's sampling options, from the node's inputs (unset ones are left out)."""
    model = ctx.inputs.get("model") or "gpt-4o-mini"
    logit_bias_raw = ctx.inputs.get("logit_bias")
    try:
        logit_bias = {str(k): int(v) for k, v in key_values(logit_bias_raw).items()}
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{ctx.node.name}: 'Logit Bias' must map token ids to integers from -100 to 100"
        ) from exc
    stop = string_list(ctx.inputs.get("stop"))
    if len(stop) > 4:
        raise InputError(f"{ctx.node.name}: 'Stop' takes at most 4 sequences, got {len(stop)}")
    max_tokens = _integer(ctx, "max_tokens")
    params = present(
        model=model,
        messages=messages,
        temperature=_number(ctx, "temperature"),
        top_p=_number(ctx, "top_p"),
        n=_integer(ctx, "n"),
        frequency_penalty=_number(ctx, "frequency_penalty"),
        presence_penalty=_number(ctx, "presence_penalty"),
        logit_bias=logit_bias,
        stop=stop,
        user=ctx.inputs.get("user"),
        seed=_integer(ctx, "seed"),
    )
    if max_tokens:
        key = "max_completion_tokens" if str(model).startswith(_REASONING_PREFIXES) else "max_tokens"
        params[key] = max_tokens
    if bool_input(ctx, "json_output"):
        params["response_format"] = {"type": "json_object"}
    response_format = json_value(ctx, "response_format", expect=dict) if "response_format" in ctx.inputs else None
    if response_format:
        params["response_format"] = response_format
    tools = json_value(ctx, "tools", expect=list) if "tools" in ctx.inputs else None
    if tools:
        params["tools"] = tools
    return params


@handles("chat.create_completion")
async def create_chat_completion(ctx: NodeContext) -> Any:
    messages = chat_messages(ctx)
    params = completion_params(ctx, messages)
    return await run_completion(ctx, params)


async def run_completion(ctx: NodeContext, params: dict[str, Any]) -> Any:
    """Call /chat/completions (streamed when the node asks for it) and shape the output."""
    client = await connect(ctx)
    if bool_input(ctx, "stream"):
        completion = await with_stream_retries(ctx, client, lambda: _streamed(ctx, client, params))
    else:
        # A plain JSON call (the direct path: the SDK's headers, retries and error types without
        # its per-request machinery or the typed method's transform and response model; the
        # params are plain JSON already, checked against OpenAI's schema in the tests).
        completion = await api_call(ctx, client.post_json("/chat/completions", params, timeout_s=ctx.timeout_s))
        if not isinstance(completion, dict):
            raise NodeError(f"{ctx.node.name}: the server's answer is not a chat completion: {str(completion)[:200]}")
    usage = report_usage(ctx, completion.get("usage"))
    if usage:
        completion["usage"] = usage
    if bool_input(ctx, "simplify"):
        return simplify(completion, parse_json=bool_input(ctx, "json_output"))
    return completion


def simplify(completion: dict[str, Any], *, parse_json: bool = False) -> Any:
    """Just the reply: the content of the only choice, or a list of contents for n > 1. In JSON
    output mode the content is parsed, so downstream nodes get an object."""
    contents = []
    for choice in completion.get("choices") or []:
        message = choice.get("message") or {}
        content = message.get("content")
        if content is None and message.get("tool_calls"):
            content = {"tool_calls": message["tool_calls"]}
        if parse_json and isinstance(content, str):
            try:
                content = json.loads(content)
            except json.JSONDecodeError:
                pass
        contents.append(content)
    if len(contents) == 1:
        return contents[0]
    return contents


async def _streamed(ctx: NodeContext, client: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Stream the completion: every content piece is a `delta` event as it arrives; the chunks
    are assembled into the same object a non-streamed call returns (usage included)."""
    stream = await api_call(
        ctx,
        client.sdk.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}, **timeout_kw(ctx)
        ),
    )
    completion: dict[str, Any] = {"object": "chat.completion", "choices": []}
    choices: dict[int, dict[str, Any]] = {}
    chars = 0
    try:
        async for chunk in stream:
            for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
                value = getattr(chunk, key, None)
                if value is not None:
                    completion[key] = value
            if getattr(chunk, "usage", None) is not None:
                completion["usage"] = to_plain(chunk.usage)
            for part in chunk.choices or []:
                choice = choices.setdefault(
                    part.index,
                    {"index": part.index, "message": {"role": "assistant", "content": None},
                     "finish_reason": None},
                )
                chars += _merge_delta(choice["message"], part.delta)
                if part.finish_reason:
                    choice["finish_reason"] = part.finish_reason
                piece = getattr(part.delta, "content", None) if part.delta else None
                if piece:
                    if len(choices) > 1 or part.index:
                        ctx.emit("delta", text=piece, index=part.index)
                    else:
                        ctx.emit("delta", text=piece)
    except Exception as exc:  # a broken stream is a failed call: say where it broke
        raise map_stream_error(exc, ctx.node.name, chars) from exc
    finally:
        await stream.close()
    if not choices or any(choice["finish_reason"] is None for choice in choices.values()):
        raise stream_cut_off(ctx.node.name, chars)
    completion["choices"] = [choices[i] for i in sorted(choices)]
    return completion


def _merge_delta(message: dict[str, Any], delta: Any) -> int:
    """Add one chunk's delta to the message; returns how many characters it carried."""
    if delta is None:
        return 0
    chars = 0
    if getattr(delta, "role", None):
        message["role"] = delta.role
    if getattr(delta, "content", None):
        message["content"] = (message.get("content") or "") + delta.content
        chars += len(delta.content)
    if getattr(delta, "refusal", None):
        message["refusal"] = (message.get("refusal") or "") + delta.refusal
        chars += len(delta.refusal)
    for call in getattr(delta, "tool_calls", None) or []:
        calls = message.setdefault("tool_calls", [])
        while len(calls) <= call.index:
            calls.append({"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        target = calls[call.index]
        if call.id:
            target["id"] = call.id
        if call.function is not None:
            if call.function.name:
                target["function"]["name"] += call.function.name
            if call.function.arguments:
                target["function"]["arguments"] += call.function.arguments
                chars += len(call.function.arguments)
    return chars
