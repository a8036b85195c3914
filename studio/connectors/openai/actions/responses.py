"""Create Response (Prismatic "Create Response"): one call to /responses, optionally streamed.
The output is the response object plus `output_text`, the reply's text joined, for expressions."""

from __future__ import annotations

import json
from typing import Any

from studio.connectors.openai.errors import map_stream_error, stream_cut_off
from studio.engine.context import NodeContext, NodeError

from ._common import (
    InputError,
    api_call,
    bool_input,
    connect,
    handles,
    json_value,
    present,
    report_usage,
    timeout_kw,
    to_plain,
)


def response_input(ctx: NodeContext) -> Any:
    """Plain text, or a JSON list of input items (messages with roles, content parts ...)."""
    raw = ctx.inputs.get("input")
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
        return raw
    if raw is None or raw == "" or raw == []:
        raise InputError(f"{ctx.node.name}: 'Input' is required")
    return raw


def _number(value: Any, kind: type) -> Any:
    return None if value is None or value == "" else kind(value)


def response_params(ctx: NodeContext) -> dict[str, Any]:
    params = present(
        model=ctx.inputs.get("model") or "gpt-4.1",
        input=response_input(ctx),
        instructions=ctx.inputs.get("instructions"),
        previous_response_id=ctx.inputs.get("previous_response_id"),
        temperature=_number(ctx.inputs.get("temperature"), float),
        top_p=_number(ctx.inputs.get("top_p"), float),
        max_output_tokens=_number(ctx.inputs.get("max_output_tokens"), int),
        user=ctx.inputs.get("user"),
    )
    if "store" in ctx.inputs and ctx.inputs.get("store") is not None:
        params["store"] = bool_input(ctx, "store")
    metadata = json_value(ctx, "metadata", expect=dict) if "metadata" in ctx.inputs else None
    if metadata:
        params["metadata"] = {str(k): str(v) for k, v in metadata.items()}
    tools = json_value(ctx, "tools", expect=list) if "tools" in ctx.inputs else None
    if tools:
        params["tools"] = tools
    schema = json_value(ctx, "output_schema", expect=dict) if "output_schema" in ctx.inputs else None
    if schema:
        params["text"] = {"format": {"type": "json_schema", "name": ctx.inputs.get("output_schema_name") or "output",
                                     "schema": schema, "strict": bool_input(ctx, "output_schema_strict")}}
    elif bool_input(ctx, "json_output"):
        params["text"] = {"format": {"type": "json_object"}}
    return params


def output_text(response: dict[str, Any]) -> str:
    """The text of every output message, joined (what the SDK's `output_text` gives)."""
    parts = []
    for item in response.get("output") or []:
        if item.get("type") != "message":
            continue
        for content in item.get("content") or []:
            if content.get("type") == "output_text":
                parts.append(content.get("text") or "")
    return "".join(parts)


@handles("responses.create")
async def create_response(ctx: NodeContext) -> Any:
    params = response_params(ctx)
    client = await connect(ctx)
    if bool_input(ctx, "stream"):
        response = await _streamed(ctx, client, params)
    else:
        response = to_plain(await api_call(ctx, client.sdk.responses.create(**params, **timeout_kw(ctx))))
    _raise_if_failed(ctx, response)
    response["output_text"] = output_text(response)
    usage = report_usage(ctx, response.get("usage"))
    if usage:
        response["usage"] = usage
    if bool_input(ctx, "simplify"):
        return response["output_text"]
    return response


def _raise_if_failed(ctx: NodeContext, response: dict[str, Any]) -> None:
    if response.get("status") == "failed":
        error = response.get("error") or {}
        raise NodeError(
            f"{ctx.node.name}: the response failed: {error.get('message') or 'no reason given'}",
            details={"response": response},
        )


async def _streamed(ctx: NodeContext, client: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Text deltas become `delta` events; the final `response.completed` event carries the
    whole response object, which becomes the node's output."""
    stream = await api_call(ctx, client.sdk.responses.create(**params, stream=True, **timeout_kw(ctx)))
    final: dict[str, Any] | None = None
    text_parts: list[str] = []
    chars = 0
    try:
        async for event in stream:
            kind = getattr(event, "type", "")
            if kind == "response.output_text.delta":
                text_parts.append(event.delta)
                chars += len(event.delta or "")
                ctx.emit("delta", text=event.delta)
            elif kind == "response.function_call_arguments.delta":
                chars += len(getattr(event, "delta", "") or "")
            elif kind in ("response.completed", "response.failed", "response.incomplete"):
                final = to_plain(event.response)
            elif kind == "error":
                raise NodeError(f"{ctx.node.name}: the response stream failed: {getattr(event, 'message', '')}")
    except Exception as exc:  # a broken stream is a failed call: say where it broke
        raise map_stream_error(exc, ctx.node.name, chars) from exc
    finally:
        await stream.close()
    if final is None:  # no response.completed (or failed/incomplete) event: the stream was cut short
        raise stream_cut_off(ctx.node.name, chars, "no response.completed event")
    if not output_text(final) and text_parts:  # servers that omit output in the final event
        final.setdefault("output", []).append(
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "".join(text_parts), "annotations": []}]}
        )
    return final
