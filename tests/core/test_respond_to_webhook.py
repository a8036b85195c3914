"""Respond to Webhook through the real webhook server of `studio serve`: the answer (status,
headers, body) leaves as soon as the node runs while the flow goes on; the trigger's other
respond modes answer with the last node's output; a run that never reaches the node says so."""

from __future__ import annotations

import time

import httpx

from core_testkit import Graph
from studio.runs.serve import ServedFlow, Server
from studio.history import RunHistory


async def _no_connect(name):
    raise AssertionError("no connection needed")


def _flow(mode: str) -> ServedFlow:
    g = (Graph().add("Hook", "trigger.webhook", values={"method": "POST", "path": "/hooks/order",
                                                       "response_mode": mode})
         .add("Check", "core.if", values={"conditions": [
             {"left": "{{ input.body.kind }}", "operator": "string.equals", "right": "ok"}]})
         .add("Respond", "webhook.respond", values={
             "respond_with": "json", "status_code": 201, "headers": {"X-Flow": "core"},
             "response_json": {"got": "{{ input.body.n }}", "kind": "{{ input.body.kind }}"}})
         .add("Later", "core.wait", values={"amount": 0.4})
         .add("Shape", "core.set", values={"include": "none", "assignments": [
             {"name": "done", "type": "boolean", "value": "true"}]})
         .wire("Hook", "Check").wire("Check", "Respond", "true").wire("Respond", "Later").wire("Later", "Shape"))
    flow = g.flow()
    return ServedFlow(flow=flow, path=None, trigger=flow.node_by_name("Hook"))


async def _call(tmp_path, mode: str, body: dict) -> tuple[httpx.Response, float, RunHistory]:
    history = RunHistory(tmp_path / "history.sqlite3")
    server = Server(flows=[_flow(mode)], connect=_no_connect, history=history, runs_root=tmp_path / "runs",
                    trusted=True)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            answer = await http.post("/hooks/order", json=body)
            answered_at = time.time()
    finally:
        await server.stop()  # lets the run in flight finish
    return answer, answered_at, history


async def test_respond_node_answers_with_its_status_headers_and_body_before_the_run_ends(tmp_path):
    answer, answered_at, history = await _call(tmp_path, "respond_node", {"kind": "ok", "n": 7})
    assert answer.status_code == 201
    assert answer.headers["x-flow"] == "core" and answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"got": 7, "kind": "ok"}
    [run] = history.list_runs()
    assert run.status == "succeeded"
    nodes = {n.node_name: n for n in history.get_run(run.run_id).nodes}
    assert nodes["Shape"].status == "succeeded"
    assert nodes["Later"].finished_at > answered_at  # the answer left while the flow went on


async def test_a_run_that_never_reaches_the_respond_node_answers_500_saying_so(tmp_path):
    answer, _, _ = await _call(tmp_path, "respond_node", {"kind": "no"})
    assert answer.status_code == 500
    assert "without reaching a Respond to Webhook node" in answer.json()["error"]


async def test_when_last_node_finishes_answers_with_that_nodes_output(tmp_path):
    answer, answered_at, history = await _call(tmp_path, "last_node", {"kind": "ok", "n": 1})
    assert answer.status_code == 200 and answer.json() == {"done": True}
    [run] = history.list_runs()
    assert history.get_run(run.run_id).nodes and run.finished_at <= answered_at
