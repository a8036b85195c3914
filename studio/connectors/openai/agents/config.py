"""The agent-family nodes that only describe things: an agent, its tools and its MCP servers.

Each returns a plain JSON configuration (it travels on a wire and is kept in run records); the
Run, Resume and Classify nodes turn configurations into Agents SDK objects when they run."""

from __future__ import annotations

import json
import os
import re
import secrets
from typing import Any

from studio.connectors.openai.actions._common import (
    InputError,
    bool_input,
    json_value,
    key_values,
    present,
    required,
    string_list,
)
from studio.engine.context import NodeContext, NodeError
from studio.engine.redaction import SECRET_HEADER_NAMES
from studio.flow.capabilities import DEFAULT_COMMAND, NotPermitted, arg_list
from studio.flow.errors import clip
from studio.engine.handlers import register

# Credential header values (SECRET_HEADER_NAMES, the same list the run records redact) are kept
# out of node outputs: the value stays in this run's memory, the output holds a reference to it.
SECRETS_SERVICE = "agent_secrets"

DEFAULT_APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reason": {"type": "string", "description": "Why approval is needed"}},
    "required": ["reason"],
    "additionalProperties": False,
}

# Programs that interpret their arguments as commands: allowing them would let an argument run
# anything, which is exactly what starting from an argument list is meant to prevent.
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "cmd", "cmd.exe",
                    "powershell", "powershell.exe", "pwsh", "pwsh.exe", "env", "xargs", "eval", "exec"})
# npx/npm exec options that run a shell command string instead of a package.
NPX_SHELL_OPTIONS = ("-c", "--call", "--shell", "--script-shell", "--node-options")
COMMAND_PATTERN = re.compile(r"^[A-Za-z0-9_./\\:+@-]+$")


def tool_identifier(name: str, fallback: str = "tool") -> str:
    """A tool name the API accepts (letters, digits, `_` and `-`, at most 64 characters)."""
    text = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name or "").strip()).strip("_").lower()
    return (text or fallback)[:64]


# --- Agent: Create ---------------------------------------------------------------------------------


def _list_of(value: Any) -> list[Any]:
    """A port that collects several wires may hold one item, a list, or lists of items."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(_list_of(item))
        elif item is not None and item != "":
            flat.append(item)
    return flat


def _configs(ctx: NodeContext, key: str, kind: str) -> list[dict[str, Any]]:
    value = ctx.inputs.get(key)
    if isinstance(value, str):
        value = json_value(ctx, key)
    items = _list_of(value)
    for item in items:
        if not isinstance(item, dict) or item.get("type") != kind:
            label = ctx.action.input(key).label
            raise InputError(f"{ctx.node.name}: '{label}' must hold {kind} configurations "
                             f"(outputs of the matching Agent nodes), got {str(item)[:80]!r}")
    return items


@register("agent.create")
async def create_agent(ctx: NodeContext) -> dict[str, Any]:
    name = str(required(ctx, "name")).strip()
    schema = json_value(ctx, "output_schema", expect=dict)
    return {
        "type": "agent",
        "name": name,
        "model": ctx.inputs.get("model") or None,
        "instructions": ctx.inputs.get("instructions") or "",
        "handoff_description": ctx.inputs.get("handoff_description") or None,
        "tools": _configs(ctx, "tools", "tool"),
        "mcp_servers": _configs(ctx, "mcp_servers", "mcp_server"),
        "output_schema": schema or None,
        "output_schema_name": ctx.inputs.get("output_schema_name") or "output",
        "output_schema_strict": bool_input(ctx, "output_schema_strict"),
    }


def agent_configs(ctx: NodeContext, key: str) -> list[dict[str, Any]]:
    return _configs(ctx, key, "agent")


def agent_config(ctx: NodeContext) -> dict[str, Any]:
    value = ctx.inputs.get("agent")
    if isinstance(value, str):
        value = json_value(ctx, "agent")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict) or value.get("type") != "agent":
        raise InputError(f"{ctx.node.name}: 'Agent Configuration' must be the output of an Agent: Create node")
    return value


# --- tools ---------------------------------------------------------------------------------------


@register("agent.create_flow_tool")
async def create_flow_tool(ctx: NodeContext) -> dict[str, Any]:
    flow_name = str(required(ctx, "flow_name")).strip()
    return {
        "type": "tool",
        "kind": "flow",
        "name": tool_identifier(flow_name, "flow"),
        "flow_name": flow_name,
        "description": ctx.inputs.get("tool_description") or f"Run the flow '{flow_name}'",
        "strict": bool_input(ctx, "strict_mode"),
        "requires_approval": bool_input(ctx, "requires_approval"),
    }


@register("agent.create_human_approval_tool")
async def create_human_approval_tool(ctx: NodeContext) -> dict[str, Any]:
    schema = json_value(ctx, "parameters_schema", expect=dict)
    if schema is not None and schema.get("type", "object") != "object":
        raise InputError(f"{ctx.node.name}: 'Parameters Schema' must describe an object")
    return {
        "type": "tool",
        "kind": "human_approval",
        "name": tool_identifier(ctx.inputs.get("tool_name") or "Human Approval", "human_approval"),
        "description": ctx.inputs.get("tool_description") or "Request human approval before proceeding with this action",
        "parameters": schema or DEFAULT_APPROVAL_SCHEMA,
        "requires_approval": True,
    }


@register("agent.create_web_search_tool")
async def create_web_search_tool(ctx: NodeContext) -> dict[str, Any]:
    location = present(city=ctx.inputs.get("user_city"), country=ctx.inputs.get("user_country"),
                       region=ctx.inputs.get("user_region"), timezone=ctx.inputs.get("user_timezone"))
    return {
        "type": "tool",
        "kind": "web_search",
        "name": ctx.inputs.get("tool_name") or "Web Search",
        "search_context_size": ctx.inputs.get("search_context_size") or "medium",
        "user_location": {"type": "approximate", **location} if location else None,
    }


@register("agent.create_file_search_tool")
async def create_file_search_tool(ctx: NodeContext) -> dict[str, Any]:
    ids = string_list(required(ctx, "vector_store_ids"))
    if not ids:
        raise InputError(f"{ctx.node.name}: 'Vector Store IDs' is required")
    ranking = present(ranker=ctx.inputs.get("ranking_algorithm"), score_threshold=ctx.inputs.get("score_threshold"))
    return {
        "type": "tool",
        "kind": "file_search",
        "name": ctx.inputs.get("tool_name") or "File Search",
        "vector_store_ids": ids,
        "max_num_results": ctx.inputs.get("max_results"),
        "include_search_results": bool_input(ctx, "include_search_results", True),
        "ranking_options": ranking or None,
    }


@register("agent.create_code_interpreter_tool")
async def create_code_interpreter_tool(ctx: NodeContext) -> dict[str, Any]:
    kind = ctx.inputs.get("container_type") or "auto"
    if kind == "specific":
        container: Any = str(required(ctx, "container_id", "Container ID")).strip()
    else:
        container = {"type": "auto", **present(file_ids=string_list(ctx.inputs.get("file_ids")))}
    return {
        "type": "tool",
        "kind": "code_interpreter",
        "name": ctx.inputs.get("tool_name") or "Code Interpreter",
        "container": container,
    }


@register("agent.create_image_generation_tool")
async def create_image_generation_tool(ctx: NodeContext) -> dict[str, Any]:
    options = present(
        background=ctx.inputs.get("background"), input_fidelity=ctx.inputs.get("input_fidelity"),
        model=ctx.inputs.get("model"), moderation=ctx.inputs.get("moderation"),
        output_compression=ctx.inputs.get("output_compression"), output_format=ctx.inputs.get("output_format"),
        partial_images=ctx.inputs.get("partial_images"), quality=ctx.inputs.get("quality"),
        size=ctx.inputs.get("size"),
    )
    return {"type": "tool", "kind": "image_generation", "name": ctx.inputs.get("tool_name") or "Image Generation",
            "options": options}


# --- MCP servers ---------------------------------------------------------------------------------


def check_local_command(command: str, args: list[str], where: str) -> None:
    """Refuse anything that would let an argument run a second command: the command is started
    from an argument list (never a shell), must be a plain program name or path, not a shell,
    and npx gets no option that runs a command string."""
    if not command or not COMMAND_PATTERN.match(command):
        raise InputError(f"{where}: 'Command' must be one program name or path without spaces or shell "
                         f"characters (put its arguments in 'Arguments'), got {command!r}")
    program = os.path.basename(command.replace("\\", "/")).lower()
    if program in SHELLS:
        raise InputError(f"{where}: 'Command' may not be a shell or command runner ({program}); "
                         "name the MCP server's own program (npx, uvx, node, python, ...)")
    if program in {"npx", "npx.cmd", "npm", "npm.cmd", "pnpm", "bunx", "yarn"}:
        for arg in args:
            flag = arg.split("=", 1)[0]
            if flag in NPX_SHELL_OPTIONS:
                raise InputError(f"{where}: argument {arg!r} would make {program} run a shell command; "
                                 "name the MCP server package instead")
    for arg in args:
        if "\x00" in arg or "\n" in arg:
            raise InputError(f"{where}: arguments may not contain line breaks or NUL characters")


@register("agent.add_local_mcp_server")
async def add_local_mcp_server(ctx: NodeContext) -> dict[str, Any]:
    label = str(required(ctx, "server_label")).strip()
    for key in ("command", "args", "arguments"):
        if "{{" in json.dumps(ctx.node.values.get(key), default=str):
            raise InputError(f"{ctx.node.name}: '{ctx.action.input(key).label if key != 'arguments' else 'Arguments'}' "
                             "must be written out, not computed by an expression: the program a flow starts is "
                             "shown before it runs")
    command = str(ctx.inputs.get("command") or DEFAULT_COMMAND).strip()
    args = arg_list(ctx.inputs.get("args"))
    check_local_command(command, args, ctx.node.name)
    try:
        ctx.grant().check_process(command, args, ctx.node.name)
    except NotPermitted as exc:
        raise NodeError(str(exc), retryable=False) from None
    return {
        "type": "mcp_server",
        "transport": "stdio",
        "label": label,
        "command": command,
        "args": args,
        "tool_filter": string_list(ctx.inputs.get("tool_filter")),
    }


def hide_secret_headers(ctx: NodeContext, headers: dict[str, Any]) -> dict[str, Any]:
    """Credential header values replaced by a reference into this run's memory."""
    vault = ctx.services.setdefault(SECRETS_SERVICE, {})
    shown: dict[str, Any] = {}
    for name, value in headers.items():
        if value is None or value == "":
            continue  # an empty value (an unset input) sends no header at all
        if str(name).lower() in SECRET_HEADER_NAMES:
            ref = secrets.token_hex(8)
            vault[ref] = str(value)
            shown[str(name)] = {"secret_ref": ref}
        else:
            shown[str(name)] = str(value)
    return shown


def reveal_headers(services: dict[str, Any], headers: dict[str, Any], where: str) -> dict[str, str]:
    vault = services.get(SECRETS_SERVICE, {})
    real: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if isinstance(value, dict) and "secret_ref" in value:
            if value["secret_ref"] not in vault:
                raise NodeError(f"{where}: the value of header {name!r} is kept only while its run is in "
                                "memory; run the flow again to reconnect to this MCP server", retryable=False)
            real[name] = vault[value["secret_ref"]]
        else:
            real[name] = str(value)
    return real


@register("agent.add_remote_mcp_server")
async def add_remote_mcp_server(ctx: NodeContext) -> dict[str, Any]:
    from urllib.parse import urlparse

    label = str(required(ctx, "server_label")).strip()
    url = str(required(ctx, "server_url")).strip()
    if urlparse(url).scheme not in {"http", "https"} or not urlparse(url).hostname:
        raise InputError(f"{ctx.node.name}: 'Server URL' must be an http(s) URL, got {clip(url)!r}")
    try:
        ctx.grant().check_origin(url, f"{ctx.node.name}: 'Server URL'")
    except NotPermitted as exc:
        raise NodeError(str(exc), retryable=False) from None
    transport = str(ctx.inputs.get("transport") or "streamable_http").strip()
    if transport not in ("streamable_http", "sse"):
        raise InputError(f"{ctx.node.name}: 'Transport' must be streamable_http or sse, got {clip(transport)!r}")
    try:
        headers = key_values(ctx.inputs.get("headers"))
    except ValueError as exc:
        raise InputError(f"{ctx.node.name}: 'Headers' {exc}") from None
    return {
        "type": "mcp_server",
        "transport": transport,
        "label": label,
        "url": url,
        "headers": hide_secret_headers(ctx, headers),
        "tool_filter": string_list(ctx.inputs.get("tool_filter")),
    }
