"""A run keeps its results as columns (engine/results.py `NodeResults`) and its plan keeps links as
integer columns over the flow's wires (engine/planning.py `LinkGroups`): what callers read of
both is what the per-node objects gave them."""

from __future__ import annotations

from studio.engine.executor import run_flow
from studio.engine.plan import FlowPlan
from studio.engine.results import NodeResult
from studio.flow.models import Endpoint, Wire

from engine_testkit import CATALOG, Graph, Probe, make_registry


async def _run(flow, **options):
    return await run_flow(flow, catalog=CATALOG, registry=make_registry(Probe()), **options)


async def test_results_read_as_node_results_in_flow_order():
    g = Graph().add("start", "trigger.manual").add("count", "test.usage").add("bad", "test.fail", on_error="continue")
    flow = g.add("after").chain("start", "count", "bad", "after").flow()
    result = await _run(flow, trigger_payload={"n": 1})
    nodes = result.nodes
    assert list(nodes) == ["start", "count", "bad", "after"] and len(nodes) == 4
    assert "count" in nodes and "nope" not in nodes and nodes.get("nope") is None
    count, bad = nodes["count"], nodes["bad"]
    assert isinstance(count, NodeResult)
    assert (count.node_id, count.node_name, count.action, count.status) == ("count", "count", "test.usage", "succeeded")
    assert count.output == "hello" and count.attempts == 1
    assert count.usage == {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
    assert result.usage == count.usage  # the run's usage: the one node that reported any
    assert nodes["start"].usage == {} and nodes["start"].inputs == {}
    assert count.duration_ms == round((count.finished_at - count.started_at) * 1_000_000) / 1000
    assert bad.status == "failed" and bad.error["message"] == "bad: boom" and bad.reason is None
    assert nodes["after"].inputs == {"mode": "a"} and nodes["after"].status == "succeeded"
    # The JSON of a result is that of a plain NodeResult with the same fields.
    plain = NodeResult(**{key: getattr(count, key) for key in NodeResult.__dataclass_fields__})
    assert count.to_json() == plain.to_json()
    assert count == plain and plain == count and repr(count) == repr(plain)  # as a plain one, both ways
    assert result.node("count") == nodes["count"]  # each read is a new object with the same fields
    assert nodes["count"] != nodes["bad"] and count != {"node_id": "count"}


async def test_a_change_through_a_result_is_the_runs():
    flow = Graph().add("start", "trigger.manual").add("ask").chain("start", "ask").flow()
    result = await _run(flow)
    ask = result.nodes["ask"]
    ask.status, ask.reason = "waiting", "resumed later"
    ask.waiting = {"requests": [1], "state": None}
    ask.duration_ms = 5.0
    again = result.nodes["ask"]
    assert (again.status, again.reason, again.waiting, again.duration_ms) == ("waiting", "resumed later",
                                                                               {"requests": [1], "state": None}, 5.0)
    again.reason = None
    assert result.nodes["ask"].reason is None
    assert result.to_json()["nodes"][1]["status"] == "waiting"


async def test_a_node_that_never_ran_has_no_times():
    g = Graph().add("start", "trigger.manual").add("branch", "test.branch", values={"port": "no"}).add("yes")
    flow = g.wire("start", "branch").wire("branch", "yes", source_port="yes").flow()
    yes = (await _run(flow)).nodes["yes"]
    assert (yes.status, yes.reason) == ("skipped", "branch_not_taken")
    assert yes.started_at is None and yes.duration_ms is None and yes.finished_at is not None
    assert yes.attempts == 0 and yes.inputs is None
    plain = NodeResult(**{key: getattr(yes, key) for key in NodeResult.__dataclass_fields__})
    assert yes.to_json() == plain.to_json() and yes.to_json()["started_at"] is None


async def test_the_last_succeeded_output_read_from_the_columns_is_the_one_the_results_give():
    g = Graph().add("start", "trigger.manual").add("slow", "test.sleep", values={"delay_ms": 30})
    g.add("fast", "test.echo", values={"value": "quick"}).add("bad", "test.fail", on_error="continue")
    flow = g.wire("start", "slow").wire("start", "fast").wire("start", "bad").flow()
    nodes = (await _run(flow)).nodes
    done = [r for r in nodes.values() if r.status == "succeeded" and r.finished_at is not None]
    by_views = max(done, key=lambda r: r.finished_at).output
    assert nodes.last_succeeded_output() == by_views == nodes["slow"].output  # not the failed one, nor "quick"
    nodes["slow"].status = "failed"
    assert nodes.last_succeeded_output() == "quick"
    for nid in nodes:
        nodes[nid].status = "skipped"
    assert nodes.last_succeeded_output() is None


def test_link_groups_keep_flow_order_and_leave_out_unwired_nodes_and_dangling_wires():
    g = Graph().add("a", "trigger.manual").add("b").add("c").add("lonely")
    g.wire("a", "c").wire("b", "c", target_port="value").wire("a", "b")
    flow = g.flow()
    flow.wires.append(Wire(source=Endpoint(node="a", port="output"), target=Endpoint(node="gone", port="in")))
    plan = FlowPlan.build(flow, CATALOG)
    assert plan.incoming["c"] == (("a", "output", "c", "in"), ("b", "output", "c", "value"))
    assert plan.outgoing["a"] == (("a", "output", "c", "in"), ("a", "output", "b", "in"))
    assert plan.incoming["lonely"] == () and "lonely" not in plan.incoming and "lonely" not in plan.outgoing
    assert plan.incoming["gone"] == () and "gone" not in plan.incoming
    assert list(plan.incoming) == ["b", "c"] and len(plan.outgoing) == 2
    assert plan.incoming.unlinked() == ["a", "lonely"]
    assert plan.actions["c"].id == "test.echo" and dict(plan.ids_by_name) == {n: n for n in ("a", "b", "c", "lonely")}


def test_a_cycle_is_found_from_the_link_columns():
    flow = Graph().add("start", "trigger.manual").add("x").add("y").chain("start", "x", "y", "x").flow()
    assert FlowPlan.build(flow, CATALOG).cycle == ("x", "y")
