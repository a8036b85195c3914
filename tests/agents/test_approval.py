"""Human approval: a tool call that needs approval pauses the run (`waiting`, with the requests and
the agent's state kept), and the run is continued later - in this process, by the Resume Run node,
or by `studio resume` in a new process after `studio run` exited with code 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from studio.runs.resume import resume_flow
from studio.connectors.openai.fake_server import tool_call
from studio.runs import records
from studio.flow.io import save_flow

from agent_testkit import events_of, flow, node, responses_requests, run, wire

REFUND = {"reason": "Refund 50 EUR to order 1234", "amount": 50}
APPROVAL_SCHEMA = {"type": "object", "properties": {"reason": {"type": "string"}, "amount": {"type": "number"}},
                   "required": ["reason", "amount"], "additionalProperties": False}


def approval_flow():
    start = node("trigger.manual", "Start")
    tool = node("agent.create_human_approval_tool", "Approval", tool_name="Approve Refund",
                tool_description="Ask a person before any refund", parameters_schema=APPROVAL_SCHEMA)
    agent = node("agent.create", "Agent", name="Support", instructions="Refunds need approval.")
    runner = node("agent.run", "Run", user_input="{{ trigger.message }}")
    after = node("chat.create_completion", "Confirm", model="gpt-4o-mini",
                 messages=[{"role": "user", "content": "{{ nodes.Run.output.final_output }}"}], simplify=True)
    return flow("refunds", [start, tool, agent, runner, after],
                [wire(start, tool), wire(tool, agent, "tools", "tool"), wire(agent, runner, "agent", "agent"),
                 wire(runner, after)])


def last_tool_output(server) -> str:
    items = responses_requests(server)[-1].json["input"]
    return next(i["output"] for i in items if isinstance(i, dict) and i.get("type") == "function_call_output")


async def pause(server, tmp_path):
    server.script("responses", tool_call("approve_refund", REFUND, call_id="call_ap1"))
    f = approval_flow()
    result = await run(f, server, payload={"message": "I want my money back"}, run_dir=tmp_path / "run")
    return f, result


async def test_approval_pauses_the_run_with_the_pending_request(server, tmp_path):
    f, result = await pause(server, tmp_path)
    assert result.status == "waiting"
    run_node = result.node("Run")
    assert run_node.status == "waiting"
    assert result.node("Confirm").status == "skipped" and result.node("Confirm").reason == "upstream_waiting"
    (pending,) = result.pending
    assert pending["node_name"] == "Run"
    assert pending["requests"] == [{"id": "call_ap1", "tool": "approve_refund", "arguments": REFUND,
                                    "agent": "Support", "reason": REFUND["reason"]}]
    # The state is plain JSON (it is written to disk) and holds the SDK's run state.
    state = json.loads(json.dumps(run_node.waiting["state"]))
    assert state["kind"] == "agent_run_state" and state["run_state"]["$schemaVersion"]
    assert events_of(result, "tool_call", "Run")[0]["tool"] == "approve_refund"
    assert events_of(result, "tool_result", "Run") == []  # nothing ran before approval


def record_of(result, f, tmp_path) -> dict:
    document = records.result_document(result)
    path = records.save_run_record(tmp_path / "record", tmp_path / "refunds.flow.json", result, document)
    return json.loads(path.read_text())


async def test_resume_in_process_approves_and_finishes_the_flow(server, tmp_path):
    f, result = await pause(server, tmp_path)
    record = record_of(result, f, tmp_path)
    server.script("responses", "Refund of 50 EUR sent.")

    async def connect_and_run():
        from studio.connectors.openai.client import ClientPool, ConnectionSettings

        pool = ClientPool()
        settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url, max_retries=0)

        async def connect(_name):
            return await pool.get(settings)

        try:
            return await resume_flow(f, record, record["waiting"][0], {"call_ap1": {"approved": True}},
                                     connect=connect, run_dir=tmp_path / "run", run_id=result.run_id)
        finally:
            await pool.aclose()

    _, resumed = await connect_and_run()
    assert resumed.status == "succeeded", resumed.error
    assert json.loads(last_tool_output(server)) == {"approved": True, "arguments": REFUND}
    assert resumed.output("Run")["final_output"] == "Refund of 50 EUR sent."
    assert resumed.node("Confirm").output == "Echo: Refund of 50 EUR sent."  # downstream ran
    assert resumed.node("Agent").reason == "pinned"  # earlier nodes were not run again


async def test_resume_run_node_rejects_with_a_message(server, tmp_path):
    _, result = await pause(server, tmp_path)
    state = result.node("Run").waiting["state"]
    server.script("responses", "Understood, no refund.")
    start = node("trigger.manual", "Start")
    tool = node("agent.create_human_approval_tool", "Approval", tool_name="Approve Refund",
                parameters_schema=APPROVAL_SCHEMA)
    agent = node("agent.create", "Agent", name="Support", instructions="Refunds need approval.")
    resume = node("agent.resume_run", "Resume", run_state="{{ trigger.state }}",
                  approval_responses="{{ trigger.responses }}")
    f = flow("resume", [start, tool, agent, resume],
             [wire(start, tool), wire(tool, agent, "tools", "tool"), wire(agent, resume, "agent", "agent")])
    responses = [{"approvalRequest": {"functionId": "call_ap1"}, "approved": False, "message": "Refunds are paused"}]
    resumed = await run(f, server, payload={"state": state, "responses": responses})
    assert resumed.status == "succeeded", resumed.error
    assert last_tool_output(server) == "Refunds are paused"
    assert resumed.output("Resume")["final_output"] == "Understood, no refund."


async def test_resume_run_node_names_unknown_request_ids(server, tmp_path):
    _, result = await pause(server, tmp_path)
    start = node("trigger.manual", "Start")
    tool = node("agent.create_human_approval_tool", "Approval", tool_name="Approve Refund",
                parameters_schema=APPROVAL_SCHEMA)
    agent = node("agent.create", "Agent", name="Support")
    resume = node("agent.resume_run", "Resume", run_state="{{ trigger.state }}",
                  approval_responses={"call_nope": True})
    f = flow("resume", [start, tool, agent, resume],
             [wire(start, tool), wire(tool, agent, "tools", "tool"), wire(agent, resume, "agent", "agent")])
    resumed = await run(f, server, payload={"state": result.node("Run").waiting["state"]})
    assert resumed.status == "failed"
    assert "call_nope" in resumed.node("Resume").error["message"]
    assert "call_ap1" in resumed.node("Resume").error["message"]


# --- a new process -------------------------------------------------------------------------------


def studio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ), cwd=Path(__file__).resolve().parents[2])


def test_studio_run_waits_exit_3_then_studio_resume_in_a_new_process_finishes(server, tmp_path):
    path = tmp_path / "refunds.flow.json"
    save_flow(approval_flow(), path)
    server.script("responses", tool_call("approve_refund", REFUND, call_id="call_ap1"))

    first = studio("run", str(path), "--base-url", server.base_url, "--input", "message=money back", "--json")
    assert first.returncode == 3, first.stderr
    document = json.loads(first.stdout)
    assert document["status"] == "waiting"
    assert document["pending"][0]["requests"][0]["id"] == "call_ap1"
    assert "call_ap1" in first.stderr and "studio resume" in first.stderr
    record_path = Path(document["run_dir"]) / "run.json"
    saved = json.loads(record_path.read_text())
    assert saved["waiting"][0]["state"]["run_state"]  # persisted to disk
    assert "sk-" not in record_path.read_text()

    wrong = studio("resume", document["run_id"], "--approve", "call_other", "--base-url", server.base_url)
    assert wrong.returncode == 2 and "call_ap1" in wrong.stderr

    server.script("responses", "Refund of 50 EUR sent.")
    second = studio("resume", document["run_id"], "--approve", "call_ap1", "--base-url", server.base_url, "--json")
    assert second.returncode == 0, second.stderr
    resumed = json.loads(second.stdout)
    assert resumed["run_id"] == document["run_id"] and resumed["status"] == "succeeded"
    assert resumed["nodes"]["Run"]["output"]["final_output"] == "Refund of 50 EUR sent."
    assert resumed["nodes"]["Confirm"]["output"] == "Echo: Refund of 50 EUR sent."
    assert json.loads(last_tool_output(server)) == {"approved": True, "arguments": REFUND}
    # The record now says the run is done; resuming again is refused.
    assert json.loads(record_path.read_text())["result"]["status"] == "succeeded"
    again = studio("resume", document["run_id"], "--approve", "call_ap1", "--base-url", server.base_url)
    assert again.returncode == 2 and "not waiting" in again.stderr


async def test_flow_tool_that_requires_approval_runs_the_flow_only_after_approval(server, tmp_path):
    from studio.connectors.openai.agents.run import RESUME_SERVICE

    trigger = node("trigger.tool_flow", "Tool Input")
    ask = node("chat.create_completion", "Ask", model="gpt-4o-mini",
               messages=[{"role": "user", "content": "{{ trigger.input }}"}], simplify=True)
    save_flow(flow("Send Mail", [trigger, ask], [wire(trigger, ask)]), tmp_path / "send-mail.flow.json")
    start = node("trigger.manual", "Start")
    tool = node("agent.create_flow_tool", "Mail Tool", flow_name="Send Mail", requires_approval=True)
    agent = node("agent.create", "Agent", name="Mailer")
    runner = node("agent.run", "Run", user_input="mail the team")
    f = flow("mailer", [start, tool, agent, runner],
             [wire(start, tool), wire(tool, agent, "tools", "tool"), wire(agent, runner, "agent", "agent")])
    services = {"flow_dir": str(tmp_path)}
    server.script("responses", tool_call("send_mail", {"input": "hello team"}, call_id="call_m1"))
    paused = await run(f, server, services=services, run_dir=tmp_path / "r")
    assert paused.status == "waiting"
    assert paused.pending[0]["requests"][0]["tool"] == "send_mail"
    assert not [r for r in server.requests if r.api_path == "/chat/completions"]  # the flow did not run

    server.script("responses", "Mail sent.")
    state = paused.node("Run").waiting["state"]
    resumed = await run(f, server, run_dir=tmp_path / "r", start_at=runner.id,
                        pinned_outputs={n: paused.output(n) for n in ("Start", "Mail Tool", "Agent")},
                        services={**services, RESUME_SERVICE: {runner.id: {"state": state,
                                                                            "decisions": {"call_m1": {"approved": True}}}}})
    assert resumed.status == "succeeded", resumed.error
    chat = [r for r in server.requests if r.api_path == "/chat/completions"]
    assert chat[0].json["messages"][0]["content"] == "hello team"
    assert "Echo: hello team" in last_tool_output(server)


def test_studio_resume_prints_its_progress_without_building_output_previews(server, tmp_path, monkeypatch, capsys):
    from studio.cli import main
    from studio.engine import node_states
    from studio.runs import terminal

    path = tmp_path / "refunds.flow.json"
    save_flow(approval_flow(), path)
    server.script("responses", tool_call("approve_refund", REFUND, call_id="call_ap1"))
    first = studio("run", str(path), "--base-url", server.base_url, "--input", "message=money back", "--json")
    assert first.returncode == 3, first.stderr
    run_id = json.loads(first.stdout)["run_id"]

    previews: list[object] = []
    monkeypatch.setattr(node_states, "preview", lambda value: previews.append(value) or "p")
    monkeypatch.setattr(terminal, "freeze_loaded", lambda **_: None)  # (not this test process's heap)
    server.script("responses", "Refund of 50 EUR sent.")
    assert main(["resume", run_id, "--approve", "call_ap1", "--base-url", server.base_url]) == 0
    err = capsys.readouterr().err
    assert "Run: succeeded" in err and "Confirm: succeeded" in err
    assert previews == []
