"""`studio serve`'s runtime in-process: a webhook answers with a node's output, a schedule fires
on a fake clock, and stopping mid-run records the run as cancelled — all in the run history."""

import asyncio
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_testkit import ACTIONS, Graph, Probe, make_registry  # noqa: E402

from studio.catalog.catalog import Catalog  # noqa: E402
from studio.catalog.models import Action  # noqa: E402
from studio.engine import builtin  # noqa: E402
from studio.runs.serve import ServedFlow, Server  # noqa: E402
from studio.history import RunHistory  # noqa: E402

CATALOG = Catalog(actions=ACTIONS + [Action(id="trigger.schedule", kind="trigger", title="Schedule", category="Test",
                                            uses_connection=False)], connections=[])


async def _no_connect(name):
    raise AssertionError("no connection needed")


def _server(tmp_path, flows, **kw) -> tuple[Server, RunHistory]:
    registry = make_registry(Probe())
    registry.register("trigger.schedule", builtin.schedule)
    history = RunHistory(tmp_path / "history.sqlite3")
    return Server(flows=flows, connect=_no_connect, history=history, catalog=CATALOG, registry=registry,
                  runs_root=tmp_path / "runs", **kw), history


def _webhook_flow(response_mode: str, delay_ms: int = 0):
    graph = Graph().add("Hook", "trigger.webhook").add("Reply", "test.echo", values={"value": "{{ trigger.body }}"})
    graph.wire("Hook", "Reply")
    if delay_ms:
        graph.add("Slow", "test.sleep", values={"delay_ms": delay_ms}).wire("Hook", "Slow")
    flow = graph.flow()
    hook = flow.node_by_name("Hook")
    hook.values.update({"method": "POST", "path": "/hooks/demo", "response_mode": response_mode,
                        "response_node": "Reply"})
    return ServedFlow(flow=flow, path=None, trigger=hook)


async def test_a_webhook_call_runs_the_flow_and_answers_with_the_chosen_node(tmp_path):
    server, history = _server(tmp_path, [_webhook_flow("node")])
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            answer = await http.post("/hooks/demo", json={"order": 42})
    finally:
        await server.stop()
    assert answer.status_code == 200
    assert answer.json() == {"order": 42}
    [run] = history.list_runs()
    assert (run.trigger, run.status, run.payload["body"]) == ("webhook", "succeeded", {"order": 42})
    assert {n.node_name: n.status for n in history.get_run(run.run_id).nodes} == {"Hook": "succeeded",
                                                                                   "Reply": "succeeded"}


async def test_stopping_mid_run_records_the_run_as_cancelled(tmp_path):
    server, history = _server(tmp_path, [_webhook_flow("immediate", delay_ms=30_000)], grace_s=0.1)
    await server.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
        accepted = await http.post("/hooks/demo", json={})
    assert accepted.status_code == 202
    for _ in range(200):  # wait until the slow node is running
        runs = history.list_runs()
        if runs and server._inflight:
            break
        await asyncio.sleep(0.01)
    await asyncio.wait_for(server.stop(), 10)
    [run] = history.list_runs()
    assert run.status == "cancelled"
    assert {n.node_name: n.status for n in history.get_run(run.run_id).nodes}["Slow"] == "cancelled"


class FakeClock:
    def __init__(self):
        self.t = 1_000_000.0

    def now(self):
        return self.t

    async def sleep_until(self, when):
        self.t = max(self.t, when)
        await asyncio.sleep(0)


async def test_a_schedule_fires_on_a_fake_clock_and_each_run_is_recorded(tmp_path):
    flow = Graph().add("Every minute", "trigger.schedule").add("Echo", "test.echo").wire("Every minute", "Echo").flow()
    trigger = flow.node_by_name("Every minute")
    trigger.values.update({"interval_seconds": 60})
    server, history = _server(tmp_path, [ServedFlow(flow=flow, path=None, trigger=trigger)], clock=FakeClock())
    await server.start()
    for _ in range(500):
        if len(history.list_runs()) >= 3:
            break
        await asyncio.sleep(0.01)
    await server.stop()
    runs = history.list_runs()
    assert len(runs) >= 3
    assert all(r.trigger == "schedule" and r.status == "succeeded" for r in runs)
    fired = sorted(r.payload["scheduled_at"] for r in runs)
    assert fired[1] - fired[0] == 60


async def test_a_secret_header_without_a_secret_is_refused(tmp_path, monkeypatch):
    from studio.runs.serve import WEBHOOK_SECRET_ENV

    monkeypatch.delenv(WEBHOOK_SECRET_ENV, raising=False)
    served = _webhook_flow("node")
    served.trigger.values["secret_header"] = "X-Flow-Secret"
    server, _history = _server(tmp_path, [served])
    try:
        await server.start()
    except ValueError as exc:
        assert "'Secret Header' is 'X-Flow-Secret'" in str(exc) and WEBHOOK_SECRET_ENV in str(exc)
    else:
        raise AssertionError("an endpoint with a secret header but no secret was served")
    finally:
        await server.stop()


async def test_the_secret_header_is_checked(tmp_path, monkeypatch):
    from studio.runs.serve import WEBHOOK_SECRET_ENV

    monkeypatch.setenv(WEBHOOK_SECRET_ENV, "s3cret")
    served = _webhook_flow("node")
    served.trigger.values["secret_header"] = "X-Flow-Secret"
    server, history = _server(tmp_path, [served])
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            refused = await http.post("/hooks/demo", json={"a": 1}, headers={"X-Flow-Secret": "wrong"})
            accepted = await http.post("/hooks/demo", json={"a": 2}, headers={"X-Flow-Secret": "s3cret"})
    finally:
        await server.stop()
    assert refused.status_code in (401, 403) and accepted.status_code == 200
    assert [r.payload["body"] for r in history.list_runs()] == [{"a": 2}]


async def test_every_call_of_a_served_flow_shares_its_plan_and_analysis(tmp_path, monkeypatch):
    import studio.engine.plan as plan_module
    import studio.flow.capabilities as capabilities

    flow_file = tmp_path / "flows" / "demo.flow.json"
    flow_file.parent.mkdir()
    served = _webhook_flow("node")
    served.path = str(flow_file)
    server, history = _server(tmp_path, [served])
    analysed, plans, grants = [], [], []
    monkeypatch.setattr("studio.runs.serve.analyse", lambda *a: analysed.append(a[2]) or capabilities.analyse(*a))
    monkeypatch.setattr(plan_module, "analyse", lambda *a: analysed.append(a[2]) or capabilities.analyse(*a))
    original = plan_module.FlowPlan.grant
    monkeypatch.setattr(plan_module.FlowPlan, "grant",
                        lambda self, **kw: plans.append(self) or grants.append(original(self, **kw)) or grants[-1])
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            answers = [await http.post("/hooks/demo", json={"order": i}) for i in range(3)]
    finally:
        await server.stop()
    assert [a.json() for a in answers] == [{"order": i} for i in range(3)]
    assert analysed == [str(flow_file.parent)]  # once, when serving started, for the flow's folder
    assert len(plans) == 3 and all(p is served.plan for p in plans)
    assert all(flow_file.parent in g.roots for g in grants)  # each run may read its flow's folder
    assert {r.flow_path for r in history.list_runs()} == {str(flow_file)}
