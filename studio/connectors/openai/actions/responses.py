"""Create Response (Prismatic "Create Response"): one call to /responses, streamed or not, or in
background mode (started, then polled with progress until done, cancelled past the node's limit);
Retrieve Response and Cancel Response. The output is the response object plus `output_text`, the
reply's text joined, for expressions, and `tool_calls`, the hosted tools' output items."""

from __future__ import annotations

from typing import Any

from studio.connectors.openai.errors import map_stream_error, stream_cut_off
from studio.connectors.openai.stream_retry import with_stream_retries
from studio.engine.context import NodeContext, NodeError

from ._common import InputError, api_call, bool_input, connect, handles, report_usage, required, timeout_kw, to_plain
from ._polling import poll_until_done
from .response_options import response_params

RESPONSE_DONE = {"completed", "failed", "cancelled", "incomplete"}


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
    if bool_input(ctx, "background"):
        response = await _in_background(ctx, client, params)
    elif bool_input(ctx, "stream"):
        response = await with_stream_retries(ctx, client, lambda: _streamed(ctx, client, params))
    else:
        response = to_plain(await api_call(ctx, client.sdk.responses.create(**params, **timeout_kw(ctx))))
    return _finish(ctx, response)


def _finish(ctx: NodeContext, response: dict[str, Any]) -> Any:
    _raise_if_failed(ctx, response)
    response["output_text"] = output_text(response)
    response["tool_calls"] = [item for item in response.get("output") or []
                              if item.get("type") not in ("message", "reasoning")]
    usage = report_usage(ctx, response.get("usage"))
    if usage:
        response["usage"] = usage
    if bool_input(ctx, "simplify"):
        return response["output_text"]
    return response


async def _in_background(ctx: NodeContext, client: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Start the response in background mode, then poll it until it is done."""
    if params.get("store") is False:
        raise InputError(f"{ctx.node.name}: background mode needs 'Store' on (OpenAI keeps the response to poll)")
    started = to_plain(await api_call(ctx, client.sdk.responses.create(**params, background=True,
                                                                          **timeout_kw(ctx))))
    response_id = started["id"]

    async def fetch() -> dict[str, Any]:
        return to_plain(await api_call(ctx, client.sdk.responses.retrieve(response_id, **timeout_kw(ctx))))

    async def cancel() -> Any:
        return await client.sdk.responses.cancel(response_id)

    return await poll_until_done(ctx, started, fetch, RESPONSE_DONE, what=f"response {response_id}", cancel=cancel)


@handles("responses.retrieve")
async def retrieve_response(ctx: NodeContext) -> Any:
    response_id = str(required(ctx, "response_id"))
    client = await connect(ctx)
    response = to_plain(await api_call(ctx, client.sdk.responses.retrieve(response_id, **timeout_kw(ctx))))
    response["output_text"] = output_text(response)
    return response


@handles("responses.cancel")
async def cancel_response(ctx: NodeContext) -> Any:
    response_id = str(required(ctx, "response_id"))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.responses.cancel(response_id, **timeout_kw(ctx))))


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
            if kind == "response.output_item.added" and getattr(event.item, "type", "") not in (
                    "message", "function_call", "reasoning"):
                item = to_plain(event.item)
                ctx.emit("tool_call", tool=item.get("type"), call_id=item.get("id"),
                         arguments={k: v for k, v in item.items() if k not in ("id", "type", "status", "result")})
            elif kind == "response.output_text.delta":
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
