"""An agent's steps (tool calls and results, handoffs, approvals, model calls) appear where a user
looks: `studio run`'s progress lines, the `steps` of the node in `--json` and in run.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from studio.connectors.openai.fake_server import tool_call
from studio.flow.io import save_flow

from agent_testkit import MCP_SERVER, flow, node, wire


def studio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ), cwd=Path(__file__).resolve().parents[2])


def test_studio_run_shows_and_records_tool_calls_results_and_model_calls(server, tmp_path):
    start = node("trigger.manual", "Start")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fixture", command=sys.executable,
               args=[str(MCP_SERVER), "stdio"], tool_filter=["add"])
    agent = node("agent.create", "Agent", name="Calculator", instructions="Use the tools.")
    runner = node("agent.run", "Run", user_input="What is 19 + 23?")
    path = tmp_path / "calc.flow.json"
    save_flow(flow("calc", [start, mcp, agent, runner],
                   [wire(start, mcp), wire(mcp, agent, "mcp_servers", "mcp_server"),
                    wire(agent, runner, "agent", "agent")]), path)
    server.script("responses", tool_call("add", {"a": 19, "b": 23}, call_id="call_add"), "19 + 23 = 42")

    done = studio("run", str(path), "--base-url", server.base_url, "--trust", "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.endswith('Run: tool call add {"a": 19, "b": 23}') for line in lines), done.stderr
    assert any("Run: tool result add: sum=42" in line for line in lines), done.stderr
    assert sum("Run: model call gpt-4.1 (Calculator):" in line for line in lines) == 2, done.stderr

    document = json.loads(done.stdout)
    steps = document["nodes"]["Run"]["steps"]
    assert [s["type"] for s in steps] == ["model_call", "tool_call", "tool_result", "model_call"]
    call, result = steps[1], steps[2]
    assert call["tool"] == "add" and call["arguments"] == {"a": 19, "b": 23} and call["call_id"] == "call_add"
    assert result["tool"] == "add" and result["ok"] is True and "sum=42" in result["output"]
    assert all(isinstance(s["t"], float) for s in steps)
    calls = [s for s in steps if s["type"] == "model_call"]
    assert all(s["model"] == "gpt-4.1" and s["total_tokens"] > 0 for s in calls)
    # The node's usage is the sum of its model calls.
    assert document["nodes"]["Run"]["usage"]["total_tokens"] == sum(s["total_tokens"] for s in calls)
    assert "steps" not in document["nodes"]["Agent"]
    record = json.loads((Path(document["run_dir"]) / "run.json").read_text())
    assert record["result"]["nodes"]["Run"]["steps"] == steps
    # and the run history, where the editor's History tab reads them
    from studio.history import RunHistory

    recorded = {n.node_name: n for n in RunHistory().get_run(document["run_id"]).nodes}
    assert recorded["Run"].steps == steps and recorded["Agent"].steps is None


REFUND = {"reason": "Refund 50 EUR", "amount": 50}
SCHEMA = {"type": "object", "properties": {"reason": {"type": "string"}, "amount": {"type": "number"}},
          "required": ["reason", "amount"], "additionalProperties": False}


def test_approvals_asked_and_answered_and_handoffs_are_steps(server, tmp_path):
    start = node("trigger.manual", "Start")
    tool = node("agent.create_human_approval_tool", "Approval", tool_name="Approve Refund", parameters_schema=SCHEMA)
    billing = node("agent.create", "Billing", name="Billing", handoff_description="Refunds and invoices")
    triage = node("agent.create", "Triage", name="Triage", instructions="Hand refunds to Billing.")
    runner = node("agent.run", "Run", user_input="money back please")
    path = tmp_path / "refunds.flow.json"
    save_flow(flow("refunds", [start, tool, billing, triage, runner],
                   [wire(start, tool), wire(tool, billing, "tools", "tool"), wire(start, triage),
                    wire(triage, runner, "agent", "agent"), wire(billing, runner, "handoff_agents", "agent")]), path)
    server.script("responses", tool_call("transfer_to_billing", {}, call_id="call_h1"),
                  tool_call("approve_refund", REFUND, call_id="call_ap1"))

    first = studio("run", str(path), "--base-url", server.base_url, "--json")
    assert first.returncode == 3, first.stderr
    assert "Run: handoff Triage -> Billing" in first.stderr
    document = json.loads(first.stdout)
    kinds = [s["type"] for s in document["nodes"]["Run"]["steps"]]
    assert "handoff" in kinds and kinds[-1] == "approval_requested"
    asked = document["nodes"]["Run"]["steps"][-1]["requests"]
    assert asked[0]["id"] == "call_ap1" and asked[0]["arguments"] == REFUND

    server.script("responses", "Refund sent.")
    second = studio("resume", document["run_id"], "--approve", "call_ap1", "--base-url", server.base_url, "--json")
    assert second.returncode == 0, second.stderr
    assert "Run: approval call_ap1 (approve_refund): approved" in second.stderr
    steps = json.loads(second.stdout)["nodes"]["Run"]["steps"]
    assert steps[0] == {"type": "approval", "t": steps[0]["t"], "id": "call_ap1", "tool": "approve_refund",
                        "approved": True}
    assert [s["type"] for s in steps][1:] == ["tool_result", "model_call"]
    assert steps[1]["tool"] == "approve_refund" and steps[1]["call_id"] == "call_ap1" and steps[1]["ok"] is True
    # The history holds the whole story of the node: the first part's steps, then the resumed ones.
    from studio.history import RunHistory

    recorded = RunHistory().get_run(document["run_id"])
    [run_node] = [n for n in recorded.nodes if n.node_name == "Run"]
    assert recorded.status == "succeeded"
    assert run_node.steps == document["nodes"]["Run"]["steps"] + steps
