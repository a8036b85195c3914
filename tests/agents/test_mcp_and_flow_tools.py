"""Tools from real MCP server processes (stdio, streamable HTTP on loopback) and flows as tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from studio.connectors.openai.fake_server import tool_call
from studio.flow.io import save_flow
from studio.processes import stop_processes

from agent_testkit import MCP_SERVER, events_of, flow, node, responses_requests, run, wire


def mcp_flow(server_node):
    start = node("trigger.manual", "Start")
    agent = node("agent.create", "Agent", name="Calculator", instructions="Use the tools.")
    runner = node("agent.run", "Run", user_input="What is 19 + 23?")
    return flow("mcp", [start, server_node, agent, runner],
                [wire(start, server_node), wire(server_node, agent, "mcp_servers", "mcp_server"),
                 wire(agent, runner, "agent", "agent")])


def _text(output) -> str:
    if isinstance(output, list):  # content parts
        return "".join(part.get("text", "") for part in output)
    return output


def tool_outputs(server) -> list[str]:
    """What each tool returned to the model (function_call_output items of the last request)."""
    last = responses_requests(server)[-1]
    return [_text(i["output"]) for i in last.json["input"]
            if isinstance(i, dict) and i.get("type") == "function_call_output"]


def assert_mcp_tool_used(result, server):
    assert result.status == "succeeded", result.error
    first = responses_requests(server)[0]
    # The tool filter exposes only the listed tools.
    assert sorted(t["name"] for t in first.json["tools"]) == ["add", "reverse"]
    (output,) = tool_outputs(server)
    assert "sum=42" in output
    pid = int(output.split("pid=")[1].split()[0])
    assert pid != os.getpid()  # answered by the server process, not this one
    assert result.output("Run")["final_output"] == "19 + 23 = 42"
    assert events_of(result, "tool_call", "Run")[0]["tool"] == "add"
    assert "sum=42" in events_of(result, "tool_result", "Run")[0]["output"]


async def test_mcp_tool_from_a_local_server_over_stdio(server, tmp_path):
    server.script("responses", tool_call("add", {"a": 19, "b": 23}), "19 + 23 = 42")
    marker = tmp_path / "PWNED"
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fixture", command=sys.executable,
               # A shell would run the second command; an argument list passes it on as text.
               args=[str(MCP_SERVER), "stdio", f"; touch {marker}", f"$(touch {marker})"],
               tool_filter=["add", "reverse"])
    result = await run(mcp_flow(mcp), server)
    assert_mcp_tool_used(result, server)
    assert not marker.exists()
    assert result.output("Tools")["args"][0] == str(MCP_SERVER)


@pytest.fixture
def http_mcp_server():
    proc = subprocess.Popen([sys.executable, str(MCP_SERVER), "http", "mcp-token-123"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        port = int(line.split()[1])
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_processes(proc)


async def test_mcp_tool_from_a_remote_server_over_http(server, http_mcp_server):
    server.script("responses", tool_call("add", {"a": 19, "b": 23}), "19 + 23 = 42")
    mcp = node("agent.add_remote_mcp_server", "Tools", server_label="remote", server_url=http_mcp_server,
               headers={"Authorization": "Bearer mcp-token-123", "X-Trace": "t1"}, tool_filter="add, reverse")
    result = await run(mcp_flow(mcp), server)
    assert_mcp_tool_used(result, server)
    # The credential header is not part of the node's output (which runs save to disk).
    config = result.output("Tools")
    assert "mcp-token-123" not in repr(config)
    assert config["headers"]["X-Trace"] == "t1"
    assert set(config["headers"]["Authorization"]) == {"secret_ref"}


async def test_remote_mcp_server_refuses_a_wrong_token(server, http_mcp_server):
    mcp = node("agent.add_remote_mcp_server", "Tools", server_label="remote", server_url=http_mcp_server,
               headers={"Authorization": "Bearer wrong"})
    result = await run(mcp_flow(mcp), server)
    assert result.status == "failed"
    message = result.node("Run").error["message"]
    assert "could not start MCP server 'remote'" in message and "wrong" not in message


async def test_an_mcp_server_that_does_not_start_fails_the_node_with_its_name(server):
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="broken", command=sys.executable,
               args=["-c", "import sys; sys.exit(3)"])
    result = await run(mcp_flow(mcp), server)
    assert result.status == "failed"
    assert "could not start MCP server 'broken'" in result.node("Run").error["message"]


# --- flows as tools --------------------------------------------------------------------------------


def tool_flow_file(folder, name="City Facts"):
    trigger = node("trigger.tool_flow", "Tool Input",
                   input_schema={"type": "object", "properties": {"city": {"type": "string", "description": "A city"}},
                                 "required": ["city"], "additionalProperties": False})
    ask = node("chat.create_completion", "Ask", model="gpt-4o-mini",
               messages=[{"role": "user", "content": "{{ trigger.city }}"}], simplify=True)
    sub = flow(name, [trigger, ask], [wire(trigger, ask)])
    path = folder / "city-facts.flow.json"
    save_flow(sub, path)
    return path


def flow_tool_flow(**tool_values):
    start = node("trigger.manual", "Start")
    tool = node("agent.create_flow_tool", "City Tool", flow_name="City Facts",
                tool_description="Facts about a city", **tool_values)
    agent = node("agent.create", "Agent", name="Guide")
    runner = node("agent.run", "Run", user_input="Tell me about Lyon")
    return flow("guide", [start, tool, agent, runner],
                [wire(start, tool), wire(tool, agent, "tools", "tool"), wire(agent, runner, "agent", "agent")])


async def test_flow_tool_runs_the_other_flow_and_returns_its_result(server, tmp_path):
    tool_flow_file(tmp_path)
    server.script("responses", tool_call("city_facts", {"city": "Lyon"}, call_id="call_f1"), "Lyon is lovely.")
    result = await run(flow_tool_flow(strict_mode=True), server, services={"flow_dir": str(tmp_path)},
                       run_dir=tmp_path / "run")
    assert result.status == "succeeded", result.error
    first = responses_requests(server)[0]
    (tool,) = first.json["tools"]
    # The Tool Flow Trigger's schema became the tool's parameters.
    assert tool["name"] == "city_facts" and tool["description"] == "Facts about a city" and tool["strict"] is True
    assert tool["parameters"]["properties"]["city"]["type"] == "string"
    # The other flow ran (its chat call went to the server with the agent's argument) ...
    chat = [r for r in server.requests if r.api_path == "/chat/completions"]
    assert chat and chat[0].json["messages"][-1]["content"] == "Lyon"
    # ... and its result went back to the model.
    (output,) = tool_outputs(server)
    assert "Echo: Lyon" in output
    assert result.output("Run")["final_output"] == "Lyon is lovely."


async def test_a_flow_tool_that_fails_is_a_failed_tool_call_the_model_is_told_about(server, tmp_path):
    tool_flow_file(tmp_path)
    server.script("responses", tool_call("city_facts", {"city": "Lyon"}, call_id="call_f2"), "Sorry, no facts.")
    server.fail_next(400, count=1, path="/chat/completions")  # the tool flow's own call is refused
    result = await run(flow_tool_flow(), server, services={"flow_dir": str(tmp_path)}, run_dir=tmp_path / "run")
    assert result.status == "succeeded", result.error  # the agent answered around the failure
    [event] = events_of(result, "tool_result", "Run")
    assert event["ok"] is False and event["call_id"] == "call_f2"
    assert event["error"].startswith("flow tool 'City Facts': flow 'City Facts' failed: Ask: ")
    (output,) = tool_outputs(server)  # the model got the error to read
    assert json.loads(output)["error"].startswith("flow 'City Facts' failed: Ask: ")


async def test_flow_tool_without_a_tool_flow_trigger_is_refused(server, tmp_path):
    start = node("trigger.manual", "Start")
    save_flow(flow("City Facts", [start], []), tmp_path / "city-facts.flow.json")
    server.script("responses", "unused")
    result = await run(flow_tool_flow(), server, services={"flow_dir": str(tmp_path)})
    assert result.status == "failed"
    assert "has no Tool Flow Trigger" in result.node("Run").error["message"]


async def test_missing_flow_tool_names_the_folder(server, tmp_path):
    result = await run(flow_tool_flow(), server, services={"flow_dir": str(tmp_path)})
    assert result.status == "failed"
    assert "no flow named 'City Facts'" in result.node("Run").error["message"]
