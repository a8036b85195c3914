"""MCP servers of an agent: building them from their configurations (a local program or a remote
address, each only with the run's permission), connecting them within a time limit, and saying
clearly why one failed (its exit code and last stderr lines, the timeout, the HTTP status)."""

from __future__ import annotations

import asyncio
import contextvars
import os
import tempfile
from contextlib import AsyncExitStack
from typing import Any, Callable

from agents.mcp import MCPServerSse, MCPServerStdio, MCPServerStreamableHttp, create_static_tool_filter

from studio.engine.context import NodeError
from studio.flow.capabilities import Grant, NotPermitted

from .build_context import BuildContext
from .config import reveal_headers

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
    return type(errors[0]).__name__ if errors else "it failed without reporting an error"


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
