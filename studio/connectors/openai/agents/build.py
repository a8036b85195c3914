"""Turn the JSON configurations of the agent nodes into Agents SDK objects for one run.

Everything is built per run with the node's own OpenAI client (a model provider in the run's
RunConfig), so connections never leak into process-wide SDK defaults."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import jsonschema
from agents import (
    Agent,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionTool,
    ImageGenerationTool,
    ModelBehaviorError,
    ModelProvider,
    OpenAIResponsesModel,
    WebSearchTool,
)
from agents.agent_output import AgentOutputSchemaBase
from agents.model_settings import ModelSettings
from agents.models.default_models import get_default_model_settings, gpt_5_reasoning_settings_required
from agents.mcp import MCPServerSse, MCPServerStdio, MCPServerStreamableHttp, create_static_tool_filter
from agents.strict_schema import ensure_strict_json_schema

from studio.engine.context import NodeError
from studio.flow.capabilities import Grant, NotPermitted

from .config import reveal_headers, tool_identifier

DEFAULT_MODEL = "gpt-4.1"
# A host may set another default model for the agents of its runs (services[...]).
DEFAULT_MODEL_SERVICE = "agent_default_model"
# How long an MCP server may take to start and answer one request; a run may set another limit
# (services["mcp_timeout_s"], or the FLOW_STUDIO_MCP_TIMEOUT_S environment variable).
MCP_TIMEOUT_S = 30.0
MCP_TIMEOUT_SERVICE = "mcp_timeout_s"
MCP_TIMEOUT_ENV = "FLOW_STUDIO_MCP_TIMEOUT_S"
MCP_TRANSPORTS = ("streamable_http", "sse")
STDERR_TAIL_LINES = 5


def mcp_timeout(services: dict[str, Any]) -> float:
    for value in (services.get(MCP_TIMEOUT_SERVICE), os.environ.get(MCP_TIMEOUT_ENV)):
        try:
            seconds = float(value) if value not in (None, "") else 0.0
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return seconds
    return MCP_TIMEOUT_S


class ClientProvider(ModelProvider):
    """Every model of this run goes through the node's connection (Responses API)."""

    def __init__(self, sdk_client: Any, default_model: str = DEFAULT_MODEL) -> None:
        self.client = sdk_client
        self.default_model = default_model

    def get_model(self, model_name: str | None) -> Any:
        return OpenAIResponsesModel(model=model_name or self.default_model, openai_client=self.client)


def default_model(services: dict[str, Any]) -> str:
    """The model of an agent whose configuration names none: the run's default, never the SDK's."""
    return str(services.get(DEFAULT_MODEL_SERVICE) or DEFAULT_MODEL)


def model_settings_for(model: str) -> ModelSettings:
    """Settings sent with every call of `model`: reasoning/verbosity defaults only for the
    reasoning models that need them (gpt-5 family); other models get none, because the API
    refuses `reasoning` and `text.verbosity` for non-reasoning models such as gpt-4.1."""
    if gpt_5_reasoning_settings_required(model):
        return get_default_model_settings(model)
    return ModelSettings()


class JsonSchemaOutput(AgentOutputSchemaBase):
    """Structured output from a JSON Schema given in the flow (not a Python type); the model's
    answer is parsed and validated against it, and a mismatch fails the run."""

    def __init__(self, schema: dict[str, Any], name: str = "output", strict: bool = False) -> None:
        if schema.get("type", "object") != "object":
            # The API wants an object at the top; wrap anything else.
            schema = {"type": "object", "properties": {"value": schema}, "required": ["value"],
                      "additionalProperties": False}
            self._wrapped = True
        else:
            self._wrapped = False
        self._strict = bool(strict)
        self._schema = ensure_strict_json_schema(dict(schema)) if self._strict else dict(schema)
        self._validator_schema = schema
        self._name = tool_identifier(name, "output")
        jsonschema.Draft202012Validator.check_schema(schema)

    def is_plain_text(self) -> bool:
        return False

    def name(self) -> str:
        return self._name

    def json_schema(self) -> dict[str, Any]:
        return self._schema

    def is_strict_json_schema(self) -> bool:
        return self._strict

    def validate_json(self, json_str: str) -> Any:
        try:
            value = json.loads(json_str)
        except json.JSONDecodeError as exc:
            raise ModelBehaviorError(f"the model's output is not JSON ({exc.msg})") from None
        errors = sorted(jsonschema.Draft202012Validator(self._validator_schema).iter_errors(value), key=str)
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            raise ModelBehaviorError(f"the model's output does not match the output schema at {where}: {first.message}")
        return value["value"] if self._wrapped else value


# --- tools -----------------------------------------------------------------------------------------

FlowRunner = Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]


@dataclass
class BuildContext:
    """What building needs from the node: where it is (for messages), the run's services (flow
    tools, secret header values, function tools a host registered) and the flow-tool runner."""

    where: str
    services: dict[str, Any]
    run_flow_tool: FlowRunner | None = None
    emit: Callable[..., None] | None = None
    agents: dict[str, Agent] = field(default_factory=dict)
    approval_tools: set[str] = field(default_factory=set)  # names of human-approval tools (no side effects)
    failed_calls: dict[str, str] = field(default_factory=dict)  # tool call id -> why the tool failed


def _json_result(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _function_tool(cfg: dict[str, Any], bc: BuildContext) -> FunctionTool:
    kind = cfg.get("kind")
    name = tool_identifier(cfg.get("name") or kind or "tool")
    if kind == "human_approval":
        bc.approval_tools.add(name)

        async def approved(_ctx: Any, arguments: str) -> str:
            args = json.loads(arguments or "{}")
            return json.dumps({"approved": True, "arguments": args})

        schema = dict(cfg.get("parameters") or {})
        strict = schema.get("additionalProperties") is False and set(schema.get("required") or []) == set(
            (schema.get("properties") or {}).keys())
        return FunctionTool(name=name, description=cfg.get("description") or "", params_json_schema=schema,
                            on_invoke_tool=approved, strict_json_schema=strict, needs_approval=True)
    if kind == "flow":
        if bc.run_flow_tool is None:
            raise NodeError(f"{bc.where}: flow tools cannot run here", retryable=False)
        from .flow_tools import flow_tool_schema

        schema = flow_tool_schema(cfg, bc.services, bc.where)
        strict = bool(cfg.get("strict"))
        if strict:
            schema = ensure_strict_json_schema(schema)
        runner = bc.run_flow_tool

        async def invoke(tool_ctx: Any, arguments: str) -> str:
            args = json.loads(arguments or "{}")
            outcome = await runner(cfg, args)
            call_id = getattr(tool_ctx, "tool_call_id", None)
            if isinstance(outcome, dict) and set(outcome) == {"error"} and call_id:
                # the model reads the error; the run shows a failed tool call, not a result
                bc.failed_calls[str(call_id)] = f"flow tool {cfg.get('flow_name')!r}: {outcome['error']}"
            return _json_result(outcome)

        return FunctionTool(name=name, description=cfg.get("description") or "", params_json_schema=schema,
                            on_invoke_tool=invoke, strict_json_schema=strict,
                            needs_approval=bool(cfg.get("requires_approval")))
    if kind == "function":
        # A Python function a host application registered under this name.
        tools = bc.services.get("agent_function_tools") or {}
        tool = tools.get(cfg.get("name"))
        if not isinstance(tool, FunctionTool):
            raise NodeError(f"{bc.where}: no function tool named {cfg.get('name')!r} is available in this run",
                            retryable=False)
        return tool
    raise NodeError(f"{bc.where}: unknown tool kind {kind!r}", retryable=False)


def build_tool(cfg: dict[str, Any], bc: BuildContext) -> Any:
    kind = cfg.get("kind")
    if kind == "web_search":
        kwargs: dict[str, Any] = {"search_context_size": cfg.get("search_context_size") or "medium"}
        if cfg.get("user_location"):
            kwargs["user_location"] = cfg["user_location"]
        return WebSearchTool(**kwargs)
    if kind == "file_search":
        kwargs = {"vector_store_ids": list(cfg.get("vector_store_ids") or []),
                  "include_search_results": bool(cfg.get("include_search_results", True))}
        if cfg.get("max_num_results"):
            kwargs["max_num_results"] = int(cfg["max_num_results"])
        if cfg.get("ranking_options"):
            kwargs["ranking_options"] = cfg["ranking_options"]
        return FileSearchTool(**kwargs)
    if kind == "code_interpreter":
        return CodeInterpreterTool(tool_config={"type": "code_interpreter", "container": cfg.get("container") or {"type": "auto"}})
    if kind == "image_generation":
        return ImageGenerationTool(tool_config={"type": "image_generation", **(cfg.get("options") or {})})
    return _function_tool(cfg, bc)


# --- MCP servers -----------------------------------------------------------------------------------


def build_mcp_server(cfg: dict[str, Any], bc: BuildContext) -> Any:
    """An MCP server object (not yet connected). Local servers start from an argument list."""
    from .config import check_local_command

    label = str(cfg.get("label") or "mcp")
    wanted = [str(n) for n in cfg.get("tool_filter") or []]
    tool_filter = create_static_tool_filter(allowed_tool_names=wanted) if wanted else None
    timeout = mcp_timeout(bc.services)
    holder: list[Any] = []

    def tool_failed(run_ctx: Any, error: Exception) -> str:
        """A tool call the server could not answer (it crashed, timed out ...) is recorded as a
        failed call, so the run's events show it; the model gets the SDK's neutral message."""
        reason = describe_mcp_failure(error, holder[0] if holder else None, timeout)
        call_id = getattr(run_ctx, "tool_call_id", None)
        if call_id:
            bc.failed_calls[str(call_id)] = f"MCP server {label!r}: {reason}"
        return "An error occurred while running the tool. Please try again."

    common = {"name": label, "cache_tools_list": True, "client_session_timeout_seconds": timeout,
              "tool_filter": tool_filter, "failure_error_function": tool_failed}
    where = f"{bc.where}: MCP server {label!r}"
    http_errors: list[tuple[int, str]] = []
    transport = cfg.get("transport")
    if transport == "stdio":
        command = str(cfg.get("command") or "npx")
        raw_args = cfg.get("args") or []
        args = [str(a) for a in raw_args] if isinstance(raw_args, list) else [str(raw_args)]
        check_local_command(command, args, where)
        _permit(bc, where, lambda grant: grant.check_process(command, args, where))
        server: Any = StudioStdioServer(params={"command": command, "args": args}, **common)
    elif transport in MCP_TRANSPORTS:
        _permit(bc, where, lambda grant: grant.check_origin(str(cfg.get("url") or ""), where))
        params: dict[str, Any] = {"url": str(cfg.get("url")), "timeout": timeout}
        headers = reveal_headers(bc.services, cfg.get("headers") or {}, bc.where)
        if headers:
            params["headers"] = headers
        params["httpx_client_factory"] = _status_recording_client(http_errors)
        server = (MCPServerSse if transport == "sse" else MCPServerStreamableHttp)(params=params, **common)
    else:
        raise NodeError(f"{bc.where}: unknown MCP server transport {transport!r} "
                        f"(stdio, {', '.join(MCP_TRANSPORTS)})", retryable=False)
    server.studio_transport = transport
    server.studio_tool_filter = wanted
    server.studio_http_errors = http_errors
    holder.append(server)
    return server


def _status_recording_client(sink: list[tuple[int, str]]) -> Callable[..., Any]:
    """The MCP SDK's HTTP client, also noting every error status a remote server answers (the
    SDK turns them into a bare "Server returned an error response")."""
    from agents.mcp.server import _create_default_streamable_http_client

    def factory(headers: Any = None, timeout: Any = None, auth: Any = None) -> Any:
        client = _create_default_streamable_http_client(headers=headers, timeout=timeout, auth=auth)

        async def record(response: Any) -> None:
            if getattr(response, "status_code", 0) >= 400:
                sink.append((response.status_code, str(getattr(response, "reason_phrase", "") or "")))

        hooks = dict(client.event_hooks)
        hooks["response"] = [*hooks.get("response", []), record]
        client.event_hooks = hooks
        return client

    return factory


# The processes the MCP SDK's stdio client starts, so a server that exits at once is reported with
# its exit code (the SDK keeps the process to itself). Only a list set by StudioStdioServer in the
# task that starts the process receives it; everything else passes through unchanged.
_PROCESS_SINK: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("studio_mcp_processes",
                                                                                  default=None)


def _capture_stdio_processes() -> None:
    try:
        import mcp.client.stdio as stdio
    except ImportError:  # pragma: no cover - another MCP SDK layout: no exit codes in messages
        return
    original = getattr(stdio, "_create_platform_compatible_process", None)
    if original is None or getattr(original, "_studio_capture", False):
        return

    async def create(*args: Any, **kwargs: Any) -> Any:
        process = await original(*args, **kwargs)
        sink = _PROCESS_SINK.get()
        if sink is not None:
            sink.append(process)
        return process

    create._studio_capture = True  # type: ignore[attr-defined]
    stdio._create_platform_compatible_process = create


class StudioStdioServer(MCPServerStdio):
    """A stdio MCP server whose stderr goes to a file (its last lines explain a failed start) and
    whose process is known (its exit code)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.errlog = tempfile.TemporaryFile()
        self.processes: list[Any] = []

    def create_streams(self) -> Any:
        from mcp.client.stdio import stdio_client

        _PROCESS_SINK.set(self.processes)
        return stdio_client(self.params, errlog=self.errlog)  # type: ignore[arg-type]

    def exit_code(self) -> int | None:
        process = self.processes[-1] if self.processes else None
        return getattr(process, "returncode", None) if process is not None else None

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        try:
            self.errlog.flush()
            self.errlog.seek(0, os.SEEK_END)
            size = self.errlog.tell()
            self.errlog.seek(max(0, size - 4096))
            text = self.errlog.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        return "\n".join(line.rstrip() for line in text.strip().splitlines()[-lines:])

    def close_log(self) -> None:
        try:
            self.errlog.close()
        except OSError:  # pragma: no cover
            pass


_capture_stdio_processes()


def _leaf_errors(exc: BaseException) -> list[BaseException]:
    """The exceptions inside task-group wrappers (ExceptionGroup) and chained causes, in order."""
    out: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        error = todo.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, BaseExceptionGroup):
            todo.extend(error.exceptions)
            continue
        out.append(error)
        todo.extend([error.__cause__, error.__context__])
    return out


def _http_status(errors: list[BaseException]) -> tuple[int, str] | None:
    for error in errors:
        response = getattr(error, "response", None)
        code = getattr(response, "status_code", None)
        if isinstance(code, int) and code >= 400:
            reason = getattr(response, "reason_phrase", "") or ""
            return code, reason if isinstance(reason, str) else ""
    return None


def describe_mcp_failure(exc: BaseException, server: Any, timeout: float) -> str:
    """What happened when an MCP server failed, in words: its exit code and last stderr lines, a
    timeout, the HTTP status of a remote server, else the innermost error (never a task group)."""
    text = _describe(_leaf_errors(exc), server, timeout)
    if isinstance(server, StudioStdioServer) and "stderr" not in text and server.stderr_tail():
        text += f"; its last output (stderr):\n{server.stderr_tail()}"
    return text


def _describe(errors: list[BaseException], server: Any, timeout: float) -> str:
    transport = getattr(server, "studio_transport", None)
    if isinstance(server, StudioStdioServer):
        code = server.exit_code()  # negative: stopped by a signal (our own clean-up, most likely)
        if code is not None and code >= 0 and not any(isinstance(e, TimeoutError) for e in errors):
            tail = server.stderr_tail()
            text = f"the server process exited with code {code}"
            return text + (f"; its last output (stderr):\n{tail}" if tail else " without writing anything to stderr")
    if any(isinstance(e, TimeoutError) or "timed out" in str(e).lower() for e in errors):
        return f"it did not answer within {timeout:g} s"
    status = _http_status(errors)
    if status is None and getattr(server, "studio_http_errors", None):
        status = server.studio_http_errors[-1]
    if status is not None:
        code, reason = status
        text = f"the server answered HTTP {code}" + (f" {reason}" if reason else "")
        if code in (401, 403):
            text += " (check the credential headers)"
        elif code in (404, 405) and transport == "streamable_http":
            text += " (if this is an SSE server, set 'Transport' to sse)"
        elif code in (404, 405) and transport == "sse":
            text += " (if this is a streamable HTTP server, set 'Transport' to streamable_http)"
        return text
    for error in errors:
        name = type(error).__name__
        if "ConnectError" in name or isinstance(error, ConnectionError):
            return f"could not connect ({error or name})"
    for error in errors:
        text = str(error).strip()
        if text:
            return f"{type(error).__name__}: {text}"[:500]
    return type(errors[0]).__name__ if errors else type(exc).__name__


def _permit(bc: BuildContext, where: str, check: Callable[[Grant], None]) -> None:
    """Ask the run's Grant (studio/flow/capabilities.py) whether this server may start or be
    contacted: a configuration is data, so it may only name what the flow itself wrote out."""
    grant = bc.services.get("grant")
    if not isinstance(grant, Grant):
        raise NodeError(f"{where}: this run may not start or contact MCP servers", retryable=False)
    try:
        check(grant)
    except NotPermitted as exc:
        raise NodeError(str(exc), retryable=False) from None


async def connect_servers(stack: AsyncExitStack, servers: list[Any], where: str,
                          timeout: float = MCP_TIMEOUT_S) -> None:
    for server in servers:
        if isinstance(server, StudioStdioServer):
            stack.callback(server.close_log)
        try:
            await asyncio.wait_for(server.connect(), timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a server that does not start is the node's failure, with its name
            if isinstance(exc, TimeoutError):
                reason = f"it did not answer within {timeout:g} s"
                if isinstance(server, StudioStdioServer) and server.stderr_tail():
                    reason += f"; its last output (stderr):\n{server.stderr_tail()}"
            else:
                reason = describe_mcp_failure(exc, server, timeout)
            raise NodeError(f"{where}: could not start MCP server {server.name!r}: {reason}") from None
        stack.push_async_callback(server.cleanup)


async def check_tool_filters(servers: list[Any], emit: Callable[..., None] | None, timeout: float) -> None:
    """A tool filter naming tools the server does not have is a warning on the node (the agent
    would silently get fewer tools, or none)."""
    for server in servers:
        wanted = getattr(server, "studio_tool_filter", None)
        session = getattr(server, "session", None)
        if not wanted or session is None or emit is None:
            continue
        try:
            listed = await asyncio.wait_for(session.list_tools(), timeout)
        except Exception:  # noqa: BLE001 - the agent's own listing reports a broken server
            continue
        names = sorted(str(t.name) for t in getattr(listed, "tools", []) or [])
        missing = [n for n in wanted if n not in names]
        if missing:
            kept = [n for n in wanted if n in names]
            emit("warning", server=server.name, missing=missing, available=names,
                 message=f"MCP server {server.name!r} has no tool {', '.join(map(repr, missing))} named in its tool "
                         f"filter; the agent gets {', '.join(kept) if kept else 'no tools from it'} "
                         f"(the server has: {', '.join(names) or 'none'})")


# --- agents ----------------------------------------------------------------------------------------


def build_agent(cfg: dict[str, Any], bc: BuildContext, *, handoffs: list[Agent] | None = None,
                servers: list[Any] | None = None) -> Agent:
    """One SDK agent from an Agent: Create configuration. MCP server objects are appended to
    `servers` so the caller connects and closes them."""
    name = str(cfg.get("name") or "Agent")
    if name in bc.agents:
        raise NodeError(f"{bc.where}: two agents are named {name!r}; agent names must differ so a paused "
                        "run can be resumed", retryable=False)
    tools = [build_tool(t, bc) for t in cfg.get("tools") or []]
    mcp = [build_mcp_server(s, bc) for s in cfg.get("mcp_servers") or []]
    if servers is not None:
        servers.extend(mcp)
    output_type = None
    if cfg.get("output_schema"):
        try:
            output_type = JsonSchemaOutput(cfg["output_schema"], cfg.get("output_schema_name") or "output",
                                           bool(cfg.get("output_schema_strict")))
        except (jsonschema.SchemaError, Exception) as exc:
            raise NodeError(f"{bc.where}: agent {name!r} has an output schema that cannot be used: {exc}",
                            retryable=False) from exc
    # The model and its settings are decided here, together: with no model the SDK would pick its
    # own default model's settings (reasoning effort, verbosity) and send them to our default model.
    model = str(cfg.get("model") or "").strip() or default_model(bc.services)
    agent = Agent(
        name=name,
        instructions=cfg.get("instructions") or None,
        handoff_description=cfg.get("handoff_description") or None,
        model=model,
        model_settings=model_settings_for(model),
        tools=tools,
        mcp_servers=mcp,
        handoffs=list(handoffs or []),
        output_type=output_type,
    )
    bc.agents[name] = agent
    return agent


def build_agents(main: dict[str, Any], handoff_cfgs: list[dict[str, Any]], bc: BuildContext,
                 servers: list[Any]) -> Agent:
    """The starting agent with the agents it may hand the conversation to."""
    targets = [build_agent(h, bc, servers=servers) for h in handoff_cfgs]
    return build_agent(main, bc, handoffs=targets, servers=servers)


def _name_structured_outputs() -> None:
    """The SDK names every structured output "final_output"; Agent: Create lets users name it, so
    outputs from a flow's JSON Schema carry that name (other agents are left as the SDK makes them)."""
    try:
        from agents.models.openai_responses import Converter
    except ImportError:  # pragma: no cover - another SDK layout: keep its default name
        return
    original = Converter.__dict__.get("get_response_format")
    if not isinstance(original, classmethod) or getattr(original.__func__, "_studio_named", False):
        return
    base = original.__func__

    def get_response_format(cls: Any, output_schema: Any) -> Any:
        value = base(cls, output_schema)
        if isinstance(output_schema, JsonSchemaOutput) and isinstance(value, dict) and "format" in value:
            value = {**value, "format": {**value["format"], "name": output_schema.name()}}
        return value

    get_response_format._studio_named = True  # type: ignore[attr-defined]
    Converter.get_response_format = classmethod(get_response_format)


_name_structured_outputs()
