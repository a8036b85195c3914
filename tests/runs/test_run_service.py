"""The run service in-process: what every front-end relies on. A run is recorded in the history
and its run folder; a waiting run resumed through the service joins its history entry (usage
added up) and replaces its record; other waiting nodes stay waiting; a resume that failed before
anything ran changes nothing; an executor that breaks gives a failed run, recorded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_testkit import CATALOG, Graph, Probe, make_registry  # noqa: E402

from studio.connectors.openai.agents.run import RESUME_SERVICE, UNTOUCHED  # noqa: E402
from studio.engine.context import NodeContext, NodeError, WaitingForApproval  # noqa: E402
from studio.history import RunHistory  # noqa: E402
from studio.runs.records import load_run_record  # noqa: E402
from studio.runs.service import Resume, start_run  # noqa: E402


async def _no_connect(name):
    raise AssertionError("no connection needed")


def _registry(fail_on_resume: bool = False):
    registry = make_registry(Probe())

    @registry.register("test.wait")
    async def ask(ctx: NodeContext):
        resumed = (ctx.services.get(RESUME_SERVICE) or {}).get(ctx.node.id)
        if resumed is None:
            ctx.emit("usage", usage={"total_tokens": 5})
            raise WaitingForApproval([{"id": f"req-{ctx.node.name}", "tool": "refund"}], state={"asked": ctx.node.name})
        if fail_on_resume:
            raise NodeError("the API is down", details={UNTOUCHED: True}, retryable=False)
        ctx.emit("usage", usage={"total_tokens": 7})
        return {"state": resumed["state"], "decisions": resumed["decisions"]}

    return registry


def _approval_flow(second_question: bool = False):
    graph = Graph().add("Start", "trigger.manual").add("Ask", "test.wait").add("After", "test.echo")
    graph.chain("Start", "Ask", "After")
    if second_question:
        graph.add("Ask too", "test.wait").wire("Start", "Ask too")
    return graph.flow()


def _start(flow, registry, history, **kw):
    return start_run(flow, connect=_no_connect, trigger="test", catalog=CATALOG, registry=registry,
                     history=history, trusted=True, **kw)


def _resume_of(result, node_id: str) -> Resume:
    entry = next(p for p in result.pending if p["node_id"] == node_id)
    others = [dict(p) for p in result.pending if p["node_id"] != node_id]
    return Resume(run_id=result.run_id, node_id=node_id, state=entry["state"],
                  decisions={entry["requests"][0]["id"]: {"approved": True}}, others=others)


def _pins(result):
    return {nid: n.output for nid, n in result.nodes.items() if n.status == "succeeded"}


async def test_a_run_is_recorded_in_the_history_and_its_run_folder(tmp_path):
    history = RunHistory(tmp_path / "history.sqlite3")
    flow = Graph().add("Start", "trigger.manual").add("Echo", "test.echo", values={"value": "hi"}).chain("Start", "Echo").flow()
    active = _start(flow, _registry(), history, payload={"topic": "cats"}, flow_path=tmp_path / "echo.flow.json",
                    run_record="always")
    assert history.get_run(active.run_id).status == "running"  # recorded as it starts
    result = await active.result()
    assert result.status == "succeeded"
    run = history.get_run(active.run_id)
    assert (run.status, run.trigger, run.payload) == ("succeeded", "test", {"topic": "cats"})
    assert {n.node_name: n.output for n in run.nodes}["Echo"] == "hi"
    record = load_run_record(active.run_id)
    assert record["flow_path"] == str((tmp_path / "echo.flow.json").resolve())
    assert record["result"]["nodes"]["Echo"]["output"] == "hi" and record["waiting"] == []
    assert active.document == record["result"]


async def test_a_resumed_run_joins_its_history_entry_and_replaces_its_record(tmp_path):
    history = RunHistory(tmp_path / "history.sqlite3")
    flow, registry = _approval_flow(), _registry()
    first = await _start(flow, registry, history).result()
    assert first.status == "waiting"
    assert history.get_run(first.run_id).status == "waiting"
    record = load_run_record(first.run_id)  # an edited flow: the run folder keeps a copy of what ran
    assert record["waiting"][0]["state"] == {"asked": "Ask"}
    assert Path(record["flow_path"]).name == "flow.flow.json"

    active = _start(flow, registry, history, resume=_resume_of(first, "Ask"), pinned=_pins(first))
    assert active.run_id == first.run_id
    result = await active.result()
    assert result.status == "succeeded", result.error
    assert result.output("After") == {"state": {"asked": "Ask"}, "decisions": {"req-Ask": {"approved": True}}}
    run = history.get_run(first.run_id)
    assert len(history.list_runs()) == 1
    assert run.status == "succeeded" and run.usage["total_tokens"] == 12  # both parts' tokens
    assert {n.node_name: n.status for n in run.nodes}["After"] == "succeeded"
    after = load_run_record(first.run_id)
    assert after["waiting"] == [] and after["result"]["status"] == "succeeded"


async def test_other_waiting_nodes_stay_waiting_after_one_is_resumed(tmp_path):
    history = RunHistory(tmp_path / "history.sqlite3")
    flow, registry = _approval_flow(second_question=True), _registry()
    first = await _start(flow, registry, history).result()
    assert sorted(p["node_name"] for p in first.pending) == ["Ask", "Ask too"]
    result = await _start(flow, registry, history, resume=_resume_of(first, "Ask"), pinned=_pins(first)).result()
    assert result.node("After").status == "succeeded"
    assert result.status == "waiting" and [p["node_name"] for p in result.pending] == ["Ask too"]
    assert history.get_run(first.run_id).status == "waiting"
    assert [w["node_name"] for w in load_run_record(first.run_id)["waiting"]] == ["Ask too"]


async def test_a_resume_that_failed_before_anything_ran_changes_nothing(tmp_path):
    history = RunHistory(tmp_path / "history.sqlite3")
    flow = _approval_flow()
    first = await _start(flow, _registry(), history).result()
    before = load_run_record(first.run_id)
    active = _start(flow, _registry(fail_on_resume=True), history, resume=_resume_of(first, "Ask"),
                    pinned=_pins(first))
    result = await active.result()
    assert result.status == "failed" and active.untouched
    assert history.get_run(first.run_id).status == "waiting"
    assert load_run_record(first.run_id) == before


async def test_an_executor_that_breaks_gives_a_failed_run_recorded_as_such(tmp_path, monkeypatch):
    from studio.engine import executor

    def crash(self):
        raise RuntimeError("planner bug")

    monkeypatch.setattr(executor._Run, "_plan", crash)
    history = RunHistory(tmp_path / "history.sqlite3")
    flow = Graph().add("Start", "trigger.manual").add("Echo", "test.echo").chain("Start", "Echo").flow()
    active = _start(flow, _registry(), history, run_dir=None)
    result = await active.result()
    assert result.status == "failed" and result.error["message"] == "the run stopped: RuntimeError: planner bug"
    run = history.get_run(active.run_id)
    assert run.status == "failed" and run.error["message"] == result.error["message"]
    assert json.loads(json.dumps(active.document))["status"] == "failed"


async def test_run_file_prepares_runs_and_records_a_flow_file(tmp_path):
    from studio.flow.io import save_flow
    from studio.flow.models import Endpoint, Flow, Node, Wire
    from studio.runs.connections import UsageError
    from studio.runs.service import run_file

    start = Node(action="trigger.manual", name="Start")
    ask = Node(action="chat.create_completion", name="Ask",
               values={"messages": [{"role": "user", "content": "hi"}], "connection": "Nope"})
    path = tmp_path / "ask.flow.json"
    save_flow(Flow(name="Ask", nodes=[start, ask],
                   wires=[Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=ask.id, port="in"))]),
              path)
    try:  # a connection that does not exist is refused before anything runs
        await run_file(path)
    except UsageError as exc:
        assert "'Nope'" in str(exc)
    else:
        raise AssertionError("a missing connection was not reported")

    ask.values["connection"] = "Simulated (offline)"
    save_flow(Flow(name="Ask", nodes=[start, ask],
                   wires=[Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=ask.id, port="in"))]),
              path)
    history = RunHistory(tmp_path / "history.sqlite3")
    active = await run_file(path, payload={"n": 1}, history=history)
    result = await active.result()
    assert result.status == "succeeded", result.error
    assert active.document["nodes"]["Ask"]["status"] == "succeeded"
    assert history.get_run(active.run_id).payload == {"n": 1}
    assert load_run_record(active.run_id)["flow_path"] == str(path.resolve())
