"""A queued run that waits for approval: a worker runs it until the approval tool asks, the run is
recorded `waiting` with its record in the shared home, and `studio resume` from another process
continues it under the same run id, recorded once: in the default SQLite history, and in a real
PostgreSQL named by FLOW_STUDIO_HISTORY."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from studio.connectors.openai.fake_server import tool_call
from studio.flow.io import save_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.history import RunHistory, open_store

from test_queue_mode import serve, wait_for, worker

REFUND = {"reason": "Refund 50 EUR to order 1234", "amount": 50}
SCHEMA = {"type": "object", "properties": {"reason": {"type": "string"}, "amount": {"type": "number"}},
          "required": ["reason", "amount"], "additionalProperties": False}


def _wire(source, target, port="in", source_port="output"):
    return Wire(source=Endpoint(node=source.id, port=source_port), target=Endpoint(node=target.id, port=port))


def approval_flow(tmp_path):
    hook = Node(action="trigger.webhook", name="Hook",
                values={"method": "POST", "path": "/hooks/refund", "response_mode": "immediate"})
    tool = Node(action="agent.create_human_approval_tool", name="Approval",
                values={"tool_name": "Approve Refund", "tool_description": "Ask a person before any refund",
                        "parameters_schema": SCHEMA})
    agent = Node(action="agent.create", name="Agent", values={"name": "Support", "instructions": "Refunds need approval."})
    runner = Node(action="agent.run", name="Run", values={"user_input": "{{ trigger.body.message }}"})
    flow = Flow(name="refunds", nodes=[hook, tool, agent, runner],
                wires=[_wire(hook, tool), _wire(tool, agent, "tools", "tool"), _wire(agent, runner, "agent", "agent"),
                       _wire(hook, runner)])
    path = tmp_path / "refunds.flow.json"
    save_flow(flow, path)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request, monkeypatch):
    """Every process records in the same store: the default SQLite file, or PostgreSQL named by
    FLOW_STUDIO_HISTORY (inherited by the subprocesses)."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("FLOW_STUDIO_HISTORY", url)
        return url
    return None


def test_a_queued_run_waiting_for_approval_resumes_from_another_process(tmp_path, redis_url, processes,
                                                                         history_url):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    store = open_store(history_url)
    path = approval_flow(tmp_path)
    with FakeOpenAIServer() as server:
        server.script("responses", tool_call("approve_refund", REFUND, call_id="call_ap1"))
        worker(processes, redis_url, server.base_url)
        base = serve(processes, redis_url, path)
        assert httpx.post(f"{base}/hooks/refund", json={"message": "my money back"}, timeout=10).status_code == 202
        [run] = wait_for(lambda: [r for r in store.list_runs() if r.status != "running"],
                         what="the queued run to wait")
        assert run.status == "waiting"
        server.script("responses", "Refund of 50 EUR sent.")
        done = subprocess.run([sys.executable, "-m", "studio.cli", "resume", run.run_id, "--approve", "call_ap1",
                               "--base-url", server.base_url, "--trust", "--json"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        runs = store.list_runs()
        assert [(r.run_id, r.status) for r in runs] == [(run.run_id, "succeeded")]
        nodes = {n.node_name: n for n in store.get_run(run.run_id).nodes}
        assert nodes["Run"].status == "succeeded"
        assert "Refund of 50 EUR sent." in str(nodes["Run"].output)
    store.close()
    if history_url is not None:
        assert RunHistory().list_runs() == []  # nothing went to the local SQLite file
