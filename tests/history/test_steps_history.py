"""Agent steps in the run history: a history file written before steps existed is migrated in
place (its runs stay readable), steps round-trip with their node, and deleting a run or the
retention setting takes its steps along."""

from __future__ import annotations

import sqlite3
import time

from studio.history import NodeRecord, RunHistory

# The tables as the first release wrote them (no owners, no steps).
OLD_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, flow_name TEXT NOT NULL, flow_path TEXT,
    trigger TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, started_at REAL NOT NULL,
    finished_at REAL, usage TEXT NOT NULL DEFAULT '{}', error TEXT);
CREATE TABLE nodes (run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, node_id TEXT NOT NULL,
    node_name TEXT NOT NULL, status TEXT NOT NULL, inputs TEXT, output TEXT, error TEXT, started_at REAL,
    finished_at REAL, duration_ms REAL, attempts INTEGER NOT NULL DEFAULT 0, usage TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, node_id));
CREATE TABLE pinned (flow_id TEXT NOT NULL, node_id TEXT NOT NULL, output TEXT NOT NULL, pinned_at REAL NOT NULL,
    PRIMARY KEY (flow_id, node_id));
INSERT INTO runs VALUES ('old-run', 'flow', 'Old', NULL, 'cli', '{}', 'succeeded', 1000.0, 1001.0,
    '{"total_tokens": 5}', 'null');
INSERT INTO nodes VALUES ('old-run', 'n1', 'Ask', 'succeeded', 'null', '"hi"', 'null', 1000.0, 1001.0, 1000.0, 1,
    '{"total_tokens": 5}');
"""

STEPS = [
    {"type": "model_call", "t": 0.41, "agent": "Calculator", "model": "gpt-4.1", "input_tokens": 14,
     "output_tokens": 4, "total_tokens": 18},
    {"type": "tool_call", "t": 0.42, "agent": "Calculator", "tool": "add", "call_id": "c1",
     "arguments": {"a": 19, "b": 23}},
    {"type": "tool_result", "t": 0.5, "tool": "add", "call_id": "c1", "ok": True, "output": "sum=42"},
    {"type": "approval", "t": 0.6, "id": "c2", "tool": "refund", "approved": False, "message": "no"},
]


def _columns(path, table: str) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    finally:
        db.close()


def _steps_rows(path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM nodes WHERE steps IS NOT NULL").fetchone()[0]
    finally:
        db.close()


def _record(history: RunHistory, run_id: str, flow_id: str = "flow", started_at: float | None = None) -> None:
    history.record_started(run_id, flow_id=flow_id, flow_name="Calc", flow_path=None, trigger="editor",
                           payload={}, started_at=started_at)
    history.record_finished(run_id, "succeeded", nodes=[
        NodeRecord(node_id="agent", node_name="Run", status="succeeded", output={"final_output": "42"},
                   usage={"total_tokens": 18}, steps=STEPS),
        NodeRecord(node_id="start", node_name="Start", status="succeeded", output={}),
    ])


def test_an_old_history_file_is_migrated_and_keeps_its_runs(tmp_path):
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    assert "steps" not in _columns(path, "nodes")

    history = RunHistory(path)
    assert "steps" in _columns(path, "nodes") and "owner_pid" in _columns(path, "runs")
    old = history.get_run("old-run")
    assert old.status == "succeeded" and [(n.node_name, n.output, n.steps) for n in old.nodes] == [("Ask", "hi", None)]
    _record(history, "new-run")
    history.close()

    reopened = RunHistory(path)  # a second open finds the column there and changes nothing
    nodes = {n.node_name: n for n in reopened.get_run("new-run").nodes}
    assert nodes["Run"].steps == STEPS
    assert nodes["Start"].steps is None
    assert reopened.get_run("old-run").nodes[0].steps is None


def test_record_node_keeps_steps_and_a_node_without_steps_stores_none(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    history.record_started("r", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
    history.record_node("r", NodeRecord(node_id="a", node_name="Run", status="waiting", steps=STEPS[:2]))
    history.record_node("r", NodeRecord(node_id="b", node_name="Other", status="succeeded", steps=[]))
    nodes = {n.node_name: n for n in history.get_run("r").nodes}
    assert nodes["Run"].steps == STEPS[:2] and nodes["Other"].steps is None


def test_deleting_a_run_and_retention_take_its_steps_along(tmp_path):
    path = tmp_path / "h.sqlite3"
    history = RunHistory(path)
    now = time.time()
    for i in range(3):
        _record(history, f"r{i}", started_at=now - 10 + i)
    _record(history, "ancient", flow_id="other", started_at=now - 90 * 86400)
    assert _steps_rows(path) == 4

    history.delete_run("r0")
    assert _steps_rows(path) == 3
    assert history.apply_retention(max_runs_per_flow=1, max_age_days=30, now=now) == 2  # r1 and ancient
    assert _steps_rows(path) == 1
    assert [n.steps for n in history.get_run("r2").nodes if n.node_name == "Run"] == [STEPS]


async def test_a_served_agent_run_records_its_steps_and_retries(tmp_path):
    """`studio serve`: a webhook runs an agent against the fake OpenAI server, whose first answer
    is a 429; the history has the retry and the model call as the node's steps."""
    import httpx

    import studio.connectors.openai.agents  # noqa: F401  (registers the agent handlers)
    from studio.connectors.openai.client import ClientPool, ConnectionSettings
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.runs.serve import ServedFlow, Server
    from studio.flow.models import Endpoint, Flow, Node, Wire

    hook = Node(action="trigger.webhook", name="Hook", values={"method": "POST", "path": "/hooks/ask",
                                                                "response_mode": "node", "response_node": "Run"})
    agent = Node(action="agent.create", name="Agent", values={"name": "Helper", "instructions": "Answer."})
    runner = Node(action="agent.run", name="Run", values={"user_input": "{{ trigger.body.q }}"})
    flow = Flow(name="Served", nodes=[hook, agent, runner], wires=[
        Wire(source=Endpoint(node=hook.id, port="output"), target=Endpoint(node=agent.id, port="in")),
        Wire(source=Endpoint(node=agent.id, port="agent"), target=Endpoint(node=runner.id, port="agent"))])
    history = RunHistory(tmp_path / "history.sqlite3")
    pool = ClientPool()
    with FakeOpenAIServer(latency_ms=0) as fake:
        settings = ConnectionSettings(api_key="sk-test", base_url=fake.base_url, retry_delay_s=0.01)

        async def connect(_name):
            return await pool.get(settings)

        fake.fail_next(429, count=1, path="/responses")
        fake.script("responses", "Hello from the agent.")
        server = Server(flows=[ServedFlow(flow=flow, path=None, trigger=hook)], connect=connect, history=history,
                        runs_root=tmp_path / "runs")
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                answer = await http.post("/hooks/ask", json={"q": "hi"}, timeout=60)
        finally:
            await server.stop()
            await pool.aclose()
    assert answer.status_code == 200, answer.text
    [run] = history.list_runs()
    nodes = {n.node_name: n for n in history.get_run(run.run_id).nodes}
    steps = nodes["Run"].steps
    assert [s["type"] for s in steps] == ["retry", "model_call"]
    assert steps[0]["message"].startswith("rate limited (429); retrying in") and steps[0]["try"] == 2
    assert steps[1]["total_tokens"] == nodes["Run"].usage["total_tokens"]
    assert nodes["Agent"].steps is None


def test_a_long_running_process_keeps_the_step_logs_of_its_latest_runs_only():
    """`studio serve` and the editor run many flows: the step logs kept are bounded, the oldest go."""
    from studio.engine import steps

    first = [f"bounded-{i}" for i in range(steps.MAX_LOGS + 10)]
    for run_id in first:
        steps.log_for(run_id)
    assert len(steps._LOGS) <= steps.MAX_LOGS
    assert first[0] not in steps._LOGS and first[-1] in steps._LOGS
