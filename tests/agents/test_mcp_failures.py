"""MCP failures say what happened (exit code and stderr, a timeout, an HTTP status), the SSE
transport works like streamable HTTP, a tool filter naming no tool of the server warns, and a
tool call that kills its server is a failed tool call in the run's events."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from studio.connectors.openai.fake_server import tool_call
from studio.processes import stop_processes

from agent_testkit import MCP_SERVER, events_of, flow, node, responses_requests, run, wire


def mcp_flow(server_node):
    start = node("trigger.manual", "Start")
    agent = node("agent.create", "Agent", name="Calculator", instructions="Use the tools.")
    runner = node("agent.run", "Run", user_input="What is 19 + 23?")
    return flow("mcp", [start, server_node, agent, runner],
                [wire(start, server_node), wire(server_node, agent, "mcp_servers", "mcp_server"),
                 wire(agent, runner, "agent", "agent")])


def error_of(result) -> str:
    assert result.status == "failed"
    message = result.node("Run").error["message"]
    assert "TaskGroup" not in message and "sub-exception" not in message
    return message


async def test_a_stdio_server_that_exits_at_start_reports_its_exit_code_and_stderr(server):
    script = ("import sys; print('starting', file=sys.stderr); "
              "print('error: config file /etc/tools.json not found', file=sys.stderr); sys.exit(3)")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="broken", command=sys.executable,
               args=["-c", script])
    message = error_of(await run(mcp_flow(mcp), server))
    assert "could not start MCP server 'broken'" in message
    assert "exited with code 3" in message
    assert "config file /etc/tools.json not found" in message


async def test_a_stdio_server_that_never_answers_times_out_with_the_limit_in_the_message(server):
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="sleepy", command=sys.executable,
               args=["-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    message = error_of(await run(mcp_flow(mcp), server, services={"mcp_timeout_s": 1.5}))
    assert time.monotonic() - started < 15
    assert "could not start MCP server 'sleepy'" in message
    assert "did not answer within 1.5 s" in message


def start_fixture(*args):
    proc = subprocess.Popen([sys.executable, str(MCP_SERVER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    assert line.startswith("PORT "), line
    return proc, int(line.split()[1])


def stop(proc):
    stop_processes(proc)


@pytest.fixture
def http_server():
    proc, port = start_fixture("http", "tok-1")
    yield f"http://127.0.0.1:{port}/mcp"
    stop(proc)


@pytest.fixture
def sse_server():
    proc, port = start_fixture("sse", "tok-2")
    yield f"http://127.0.0.1:{port}/sse"
    stop(proc)


async def test_a_remote_server_refusing_the_credentials_says_http_401(server, http_server):
    mcp = node("agent.add_remote_mcp_server", "Tools", server_label="remote", server_url=http_server,
               headers={"Authorization": "Bearer not-the-token"})
    message = error_of(await run(mcp_flow(mcp), server))
    assert "could not start MCP server 'remote'" in message
    assert "HTTP 401" in message and "not-the-token" not in message


async def test_mcp_tools_over_the_sse_transport(server, sse_server):
    server.script("responses", tool_call("add", {"a": 19, "b": 23}), "19 + 23 = 42")
    mcp = node("agent.add_remote_mcp_server", "Tools", server_label="sse", server_url=sse_server, transport="sse",
               headers={"Authorization": "Bearer tok-2"}, tool_filter=["add"])
    result = await run(mcp_flow(mcp), server)
    assert result.status == "succeeded", result.error
    assert result.output("Tools")["transport"] == "sse"
    assert [t["name"] for t in responses_requests(server)[0].json["tools"]] == ["add"]
    assert "sum=42" in events_of(result, "tool_result", "Run")[0]["output"]


async def test_an_sse_url_with_the_streamable_transport_says_what_the_server_answered(server, sse_server):
    mcp = node("agent.add_remote_mcp_server", "Tools", server_label="sse", server_url=sse_server,
               headers={"Authorization": "Bearer tok-2"})
    message = error_of(await run(mcp_flow(mcp), server, services={"mcp_timeout_s": 5}))
    assert "could not start MCP server 'sse'" in message
    assert "HTTP 405" in message and "set 'Transport' to sse" in message


async def test_a_tool_filter_naming_no_tool_of_the_server_is_a_warning_on_the_node(server):
    server.script("responses", "No tools, sorry.")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fixture", command=sys.executable,
               args=[str(MCP_SERVER), "stdio"], tool_filter=["multiply"])
    result = await run(mcp_flow(mcp), server)
    assert result.status == "succeeded", result.error
    warnings = [e for e in events_of(result, "progress", "Run") if e.get("kind") == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["missing"] == ["multiply"] and "add" in warnings[0]["available"]
    assert "'multiply'" in warnings[0]["message"] and "no tools from it" in warnings[0]["message"]


async def test_a_tool_call_that_crashes_the_server_is_a_failed_tool_call(server):
    server.script("responses", tool_call("crash", {}, call_id="call_c1"), "The tool failed.")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fixture", command=sys.executable,
               args=[str(MCP_SERVER), "stdio"], tool_filter=["crash"])
    result = await run(mcp_flow(mcp), server, services={"mcp_timeout_s": 5})
    (called,) = events_of(result, "tool_call", "Run")
    assert called["tool"] == "crash"
    (answered,) = events_of(result, "tool_result", "Run")
    assert answered["call_id"] == "call_c1"
    assert answered.get("error"), answered  # not a silent success
    assert answered["ok"] is False


def test_describing_a_failure_without_errors_or_messages_names_what_is_known():
    """The last fallbacks of the MCP failure description: an error without a message is named by
    its type, and an empty error list (nothing to name) still gives a sentence, not a NameError."""
    from studio.connectors.openai.agents.mcp_servers import _describe, describe_mcp_failure

    remote = object()  # neither a stdio server nor one with HTTP errors
    assert describe_mcp_failure(RuntimeError(), remote, 5.0) == "RuntimeError"
    assert _describe([], remote, 5.0) == "it failed without reporting an error"
