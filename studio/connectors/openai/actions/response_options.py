"""The body of a Create Response request from the node's inputs: input or a stored prompt,
conversation state, OpenAI's built-in tools, reasoning, verbosity, service tier, storage,
truncation, include and structured output. Only what the user set is sent."""

from __future__ import annotations

import json
from typing import Any

from studio.engine.context import NodeContext

from ._common import InputError, bool_input, json_value, key_values, present, string_list

INCLUDABLE = {"web_search_call.action.sources", "code_interpreter_call.outputs",
              "computer_call_output.output.image_url", "file_search_call.results", "message.input_image.image_url",
              "message.output_text.logprobs", "reasoning.encrypted_content"}


def response_input(ctx: NodeContext) -> Any:
    """Plain text, or a JSON list of input items (messages with roles, content parts ...); may be
    empty when a stored prompt carries the input."""
    raw = ctx.inputs.get("input")
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
        return raw if text else None
    if raw is None or raw == "" or raw == []:
        return None
    return raw


def _number(value: Any, kind: type) -> Any:
    return None if value is None or value == "" else kind(value)


def stored_prompt(ctx: NodeContext) -> dict[str, Any] | None:
    prompt_id = str(ctx.inputs.get("prompt_id") or "").strip()
    if not prompt_id:
        return None
    prompt: dict[str, Any] = {"id": prompt_id}
    if ctx.inputs.get("prompt_version") not in (None, ""):
        prompt["version"] = str(ctx.inputs["prompt_version"])
    try:
        variables = key_values(ctx.inputs.get("prompt_variables"))
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{ctx.node.name}: 'Prompt Variables' must be key/value pairs ({exc})") from exc
    if variables:
        prompt["variables"] = {str(k): str(v) for k, v in variables.items()}
    return prompt


def builtin_tools(ctx: NodeContext) -> list[dict[str, Any]]:
    """OpenAI's hosted tools switched on in the node, as Responses tool objects."""
    tools: list[dict[str, Any]] = []
    if bool_input(ctx, "web_search"):
        tools.append(present(type="web_search", search_context_size=ctx.inputs.get("web_search_context_size")))
    stores = string_list(ctx.inputs.get("file_search_vector_store_ids"))
    if stores:
        limit = _number(ctx.inputs.get("file_search_max_results"), int)
        tools.append(present(type="file_search", vector_store_ids=stores, max_num_results=limit))
    if bool_input(ctx, "code_interpreter"):
        tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
    if bool_input(ctx, "image_generation"):
        tools.append(present(type="image_generation", quality=ctx.inputs.get("image_generation_quality"),
                             size=ctx.inputs.get("image_generation_size")))
    url = str(ctx.inputs.get("mcp_server_url") or "").strip()
    if url:
        label = str(ctx.inputs.get("mcp_server_label") or "").strip()
        if not label:
            raise InputError(f"{ctx.node.name}: 'MCP Server Label' is required with an MCP server URL")
        allowed = string_list(ctx.inputs.get("mcp_allowed_tools"))
        tools.append(present(type="mcp", server_label=label, server_url=url,
                             require_approval=ctx.inputs.get("mcp_require_approval") or "always",
                             allowed_tools=allowed or None))
    if bool_input(ctx, "computer_use"):
        environment = ctx.inputs.get("computer_environment") or "browser"
        tools.append({"type": "computer_use_preview", "environment": environment,
                      "display_width": int(ctx.inputs.get("computer_display_width") or 1024),
                      "display_height": int(ctx.inputs.get("computer_display_height") or 768)})
    return tools


def approval_items(ctx: NodeContext) -> list[dict[str, Any]]:
    """MCP approval answers: the request ids the user approves (or denies) this turn."""
    items = [{"type": "mcp_approval_response", "approval_request_id": rid, "approve": True}
             for rid in string_list(ctx.inputs.get("mcp_approve"))]
    items += [{"type": "mcp_approval_response", "approval_request_id": rid, "approve": False}
              for rid in string_list(ctx.inputs.get("mcp_deny"))]
    return items


def response_params(ctx: NodeContext) -> dict[str, Any]:
    prompt = stored_prompt(ctx)
    given = response_input(ctx)
    approvals = approval_items(ctx)
    if approvals:
        given = ([{"role": "user", "content": given}] if isinstance(given, str) else list(given or [])) + approvals
    if given is None and prompt is None:
        raise InputError(f"{ctx.node.name}: 'Input' is required (or a stored prompt's 'Prompt ID')")
    if ctx.inputs.get("conversation_id") and ctx.inputs.get("previous_response_id"):
        raise InputError(f"{ctx.node.name}: set either 'Conversation ID' or 'Previous Response ID', not both")
    include = string_list(ctx.inputs.get("include"))
    unknown = sorted(set(include) - INCLUDABLE)
    if unknown:
        raise InputError(f"{ctx.node.name}: 'Include' has unknown values {unknown}; expected some of "
                         f"{sorted(INCLUDABLE)}")
    params = present(
        model=ctx.inputs.get("model") or (None if prompt else "gpt-4.1"),
        input=given,
        prompt=prompt,
        instructions=ctx.inputs.get("instructions"),
        conversation=ctx.inputs.get("conversation_id"),
        previous_response_id=ctx.inputs.get("previous_response_id"),
        temperature=_number(ctx.inputs.get("temperature"), float),
        top_p=_number(ctx.inputs.get("top_p"), float),
        max_output_tokens=_number(ctx.inputs.get("max_output_tokens"), int),
        tool_choice=ctx.inputs.get("tool_choice"),
        service_tier=ctx.inputs.get("service_tier"),
        truncation=ctx.inputs.get("truncation"),
        include=include,
        prompt_cache_key=ctx.inputs.get("prompt_cache_key"),
        reasoning=present(effort=ctx.inputs.get("reasoning_effort"), summary=ctx.inputs.get("reasoning_summary")),
        user=ctx.inputs.get("user"),
    )
    if "store" in ctx.inputs and ctx.inputs.get("store") is not None:
        params["store"] = bool_input(ctx, "store")
    metadata = json_value(ctx, "metadata", expect=dict) if "metadata" in ctx.inputs else None
    if metadata:
        params["metadata"] = {str(k): str(v) for k, v in metadata.items()}
    tools = (json_value(ctx, "tools", expect=list) if "tools" in ctx.inputs else None) or []
    tools = list(tools) + builtin_tools(ctx)
    if tools:
        params["tools"] = tools
    text = present(format=_text_format(ctx), verbosity=ctx.inputs.get("verbosity"))
    if text:
        params["text"] = text
    return params


def _text_format(ctx: NodeContext) -> dict[str, Any] | None:
    schema = json_value(ctx, "output_schema", expect=dict) if "output_schema" in ctx.inputs else None
    if schema:
        return {"type": "json_schema", "name": ctx.inputs.get("output_schema_name") or "output",
                "schema": schema, "strict": bool_input(ctx, "output_schema_strict")}
    if bool_input(ctx, "json_output"):
        return {"type": "json_object"}
    return None
