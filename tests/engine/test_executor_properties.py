"""Random flows: whatever the graph, every run ends, every node ends in a final state, nodes
start only after their inputs settled, and the run status follows the node outcomes."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings, strategies as st

from engine_testkit import CATALOG, Graph, Probe, make_registry
from studio.engine.events import NODE_FINAL_STATES
from studio.engine.executor import run_flow

KINDS = ["echo", "echo", "branch", "fail", "wait", "sleep"]


@st.composite
def flows(draw):
    count = draw(st.integers(min_value=1, max_value=9))
    g = Graph().add("Start", "trigger.manual")
    names = ["Start"]
    kinds = {"Start": "trigger"}
    for i in range(count):
        name = f"N{i}"
        kind = draw(st.sampled_from(KINDS))
        on_error = draw(st.sampled_from(["stop", "continue", "route"]))
        disabled = draw(st.booleans()) and draw(st.booleans())
        action, values = {
            "echo": ("test.echo", {}),
            "branch": ("test.branch", {"port": draw(st.sampled_from(["yes", "no"]))}),
            "fail": ("test.fail", {"fail_times": draw(st.integers(0, 2))}),
            "wait": ("test.wait", {}),
            "sleep": ("test.sleep", {"delay_ms": draw(st.integers(0, 3))}),
        }[kind]
        g.add(name, action, values=values, on_error=on_error, disabled=disabled,
              retry=(draw(st.integers(1, 2)), 0))
        sources = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        for source in sources:
            ports = {"branch": ["yes", "no"], "trigger": ["output"]}.get(kinds[source], ["output", "error"])
            g.wire(source, name, draw(st.sampled_from(ports)))
        names.append(name)
        kinds[name] = kind
    return g


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows())
def test_random_flows_end_cleanly(graph):
    probe = Probe()
    flow = graph.flow()
    result = asyncio.run(asyncio.wait_for(run_flow(flow, catalog=CATALOG, registry=make_registry(probe)), 10))
    nodes = {n.id: n for n in flow.nodes}
    assert all(r.status in NODE_FINAL_STATES for r in result.nodes.values())
    for wire in flow.wires:
        target = result.nodes[wire.target.node]
        source = result.nodes[wire.source.node]
        if target.started_at is not None:
            assert source.finished_at is not None and source.finished_at <= target.started_at
    stop_failures = [r for r in result.nodes.values() if r.status == "failed" and nodes[r.node_id].on_error == "stop"]
    waiting = [r for r in result.nodes.values() if r.status == "waiting"]
    expected = "failed" if stop_failures else "waiting" if waiting else "succeeded"
    assert result.status == expected
    lifecycle_ok = (
        ["node_skipped"],
        ["node_queued", "node_skipped"],
        ["node_queued", "node_started", "node_succeeded"],
        ["node_queued", "node_started", "node_failed"],
        ["node_queued", "node_started", "node_waiting"],
        ["node_queued", "node_started", "node_cancelled"],
    )
    for node_id, r in result.nodes.items():
        seen = [e.type for e in result.events if e.node_id == node_id and e.type.startswith("node_") and e.type != "node_retrying"]
        assert tuple(seen) in {tuple(x) for x in lifecycle_ok}, (r.node_name, seen)
        assert seen[-1] == f"node_{r.status}"
    assert result.events[0].type == "run_started" and result.events[-1].type == "run_finished"
    assert result.events[-1].data["status"] == result.status
