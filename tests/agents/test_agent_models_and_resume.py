"""The model an agent runs on and the settings sent with it; resuming with the node's Max Turns,
resumes that fail before doing anything, and the history of resumed runs."""

from __future__ import annotations

from studio.connectors.openai.fake_server import tool_call

from agent_testkit import flow, node, responses_requests, run, wire


def agent_flow(model=None):
    start = node("trigger.manual", "Start")
    values = {"name": "Helper", "instructions": "Be brief."}
    if model:
        values["model"] = model
    agent = node("agent.create", "Agent", **values)
    runner = node("agent.run", "Run", user_input="hello")
    return flow("models", [start, agent, runner], [wire(start, agent), wire(agent, runner, "agent", "agent")])


async def test_an_agent_without_a_model_runs_on_the_default_model_without_reasoning_settings(server):
    server.script("responses", "hi")
    result = await run(agent_flow(), server)
    assert result.status == "succeeded", result.error
    (request,) = responses_requests(server)
    body = request.json
    assert body["model"] == "gpt-4.1"
    assert not body.get("reasoning")  # gpt-4.1 refuses reasoning settings
    assert "verbosity" not in (body.get("text") or {})

    # A model named in the agent decides the settings the same way: none for a non-reasoning
    # model, the reasoning defaults for a reasoning one.
    for model, effort in (("gpt-4o-mini", None), ("gpt-5", "low")):
        server.reset()
        server.script("responses", "hi")
        result = await run(agent_flow(model), server)
        assert result.status == "succeeded", result.error
        body = responses_requests(server)[0].json
        assert body["model"] == model
        assert ((body.get("reasoning") or {}).get("effort")) == effort


async def test_the_run_default_model_is_a_service_a_host_can_set(server):
    server.script("responses", "hi")
    result = await run(agent_flow(), server, services={"agent_default_model": "gpt-4o"})
    assert result.status == "succeeded", result.error
    body = responses_requests(server)[0].json
    assert body["model"] == "gpt-4o" and not body.get("reasoning")


# --- resuming ----------------------------------------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from studio.flow.io import save_flow  # noqa: E402
from studio.history import RunHistory  # noqa: E402

REFUND = {"reason": "Refund 50 EUR", "amount": 50}
SCHEMA = {"type": "object", "properties": {"reason": {"type": "string"}, "amount": {"type": "number"}},
          "required": ["reason", "amount"], "additionalProperties": False}


def approval_flow(max_turns=10):
    start = node("trigger.manual", "Start")
    tool = node("agent.create_human_approval_tool", "Approval", tool_name="Approve Refund", parameters_schema=SCHEMA)
    agent = node("agent.create", "Agent", name="Support", instructions="Refunds need approval.")
    runner = node("agent.run", "Run", user_input="{{ trigger.message }}", max_turns=max_turns)
    return flow("refunds", [start, tool, agent, runner],
                [wire(start, tool), wire(tool, agent, "tools", "tool"), wire(agent, runner, "agent", "agent")])


async def test_resume_run_uses_its_own_max_turns_not_the_saved_one(server):
    server.script("responses", tool_call("approve_refund", REFUND, call_id="call_1"))
    paused = await run(approval_flow(max_turns=1), server, payload={"message": "money back"})
    assert paused.status == "waiting"
    state = paused.node("Run").waiting["state"]

    def resume_flow(max_turns):
        start = node("trigger.manual", "Start")
        tool = node("agent.create_human_approval_tool", "Approval", tool_name="Approve Refund",
                    parameters_schema=SCHEMA)
        agent = node("agent.create", "Agent", name="Support")
        resume = node("agent.resume_run", "Resume", run_state="{{ trigger.state }}",
                      approval_responses={"call_1": True}, max_turns=max_turns)
        return flow("resume", [start, tool, agent, resume],
                    [wire(start, tool), wire(tool, agent, "tools", "tool"), wire(agent, resume, "agent", "agent")])

    # The saved state allowed 1 turn; the node allows 3 more from here.
    server.script("responses", "Refund sent.")
    resumed = await run(resume_flow(3), server, payload={"state": state})
    assert resumed.status == "succeeded", resumed.error
    assert resumed.output("Resume")["final_output"] == "Refund sent."


def studio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ), cwd=Path(__file__).resolve().parents[2])


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"


def start_waiting_run(server, tmp_path):
    path = tmp_path / "refunds.flow.json"
    save_flow(approval_flow(), path)
    server.script("responses", tool_call("approve_refund", REFUND, call_id="call_ap1"))
    first = studio("run", str(path), "--base-url", server.base_url, "--input", "message=money back", "--json")
    assert first.returncode == 3, first.stderr
    document = json.loads(first.stdout)
    return document, Path(document["run_dir"]) / "run.json"


def test_a_resume_that_fails_before_doing_anything_keeps_the_run_waiting(server, tmp_path):
    document, record_path = start_waiting_run(server, tmp_path)
    run_id = document["run_id"]
    saved = record_path.read_text()

    # The API cannot be reached: nothing ran, the run still waits.
    refused = studio("resume", run_id, "--approve", "call_ap1", "--base-url", closed_port_url(), "--json")
    assert refused.returncode == 1, refused.stderr
    assert "still waits for approval" in refused.stderr
    assert json.loads(refused.stdout)["status"] == "waiting"
    assert record_path.read_text() == saved
    assert RunHistory().get_run(run_id).status == "waiting"

    # The API answers 500 to every try of the first call: the same.
    server.fail_next(500, count=20, path="/responses")
    failed = studio("resume", run_id, "--approve", "call_ap1", "--base-url", server.base_url)
    assert failed.returncode == 1, failed.stderr
    assert "still waits for approval" in failed.stderr
    assert record_path.read_text() == saved

    # Once the API answers, the same command finishes the run.
    server.reset()
    server.script("responses", "Refund of 50 EUR sent.")
    done = studio("resume", run_id, "--approve", "call_ap1", "--base-url", server.base_url, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["nodes"]["Run"]["output"]["final_output"] == "Refund of 50 EUR sent."


def test_studio_resume_records_the_outcome_in_the_run_history(server, tmp_path):
    document, _ = start_waiting_run(server, tmp_path)
    run_id = document["run_id"]
    history = RunHistory()
    before = history.get_run(run_id)
    assert before.status == "waiting"
    first_tokens = before.usage["total_tokens"]

    server.script("responses", "Refund of 50 EUR sent.")
    done = studio("resume", run_id, "--approve", "call_ap1", "--base-url", server.base_url, "--json")
    assert done.returncode == 0, done.stderr
    after = history.get_run(run_id)
    assert after.status == "succeeded" and after.finished_at >= before.finished_at
    assert [r.run_id for r in history.list_runs()] == [run_id]  # the same run, not a new one
    nodes = {n.node_name: n for n in after.nodes}
    assert nodes["Run"].status == "succeeded"
    assert nodes["Run"].output["final_output"] == "Refund of 50 EUR sent."
    assert nodes["Agent"].status == "succeeded"  # the earlier nodes keep their own records
    resumed_tokens = json.loads(done.stdout)["usage"]["total_tokens"]
    assert after.usage["total_tokens"] == first_tokens + resumed_tokens
    assert nodes["Run"].usage["total_tokens"] == after.usage["total_tokens"]
