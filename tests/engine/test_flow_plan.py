"""A flow's run plan (studio/engine/plan.py), shared by every run of the flow: runs given one behave
as runs that build their own, the plan stays as built, and each run's grant is what it would be."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.engine import plan as plan_module
from studio.engine.executor import run_flow, start_run
from studio.engine.plan import FlowPlan
from studio.flow.capabilities import analyse

from engine_testkit import CATALOG, Graph, Probe, make_registry


def _flow():
    g = Graph().add("start", "trigger.manual").add("branch", "test.branch", values={"port": "no"})
    g.add("yes", values={"value": "{{ nodes.start.output }}"}).add("no", values={"value": "{{ trigger }}"})
    g.add("after", values={"value": "{{ input }}"})
    g.wire("start", "branch").wire("branch", "yes", source_port="yes").wire("branch", "no", source_port="no")
    return g.wire("no", "after").flow()


def _summary(result) -> dict:
    return {r.node_name: (r.status, r.reason, r.output) for r in result.nodes.values()}


async def test_runs_sharing_a_plan_end_as_runs_that_build_their_own():
    flow = _flow()
    plan = FlowPlan.build(flow, CATALOG)
    options = dict(catalog=CATALOG, registry=make_registry(Probe()))
    own = await run_flow(flow, trigger_payload={"n": 1}, **options)
    shared = [await run_flow(flow, trigger_payload={"n": 1}, plan=plan, **options) for _ in range(3)]
    assert own.status == "succeeded" and _summary(own)["yes"][1] == "branch_not_taken"
    assert all(_summary(run) == _summary(own) for run in shared)
    assert _summary(shared[0])["after"][2] == {"n": 1}


async def test_a_plan_is_not_changed_by_the_runs_that_use_it():
    flow = _flow()
    plan = FlowPlan.build(flow, CATALOG)
    before = (dict(plan.nodes), {k: tuple(v) for k, v in plan.incoming.items()},
              {k: tuple(v) for k, v in plan.outgoing.items()}, dict(plan.order))
    await run_flow(flow, catalog=CATALOG, registry=make_registry(Probe()), plan=plan, start_at="branch",
                   pinned_outputs={"start": {"n": 2}})
    assert (dict(plan.nodes), {k: tuple(v) for k, v in plan.incoming.items()},
            {k: tuple(v) for k, v in plan.outgoing.items()}, dict(plan.order)) == before
    assert plan.incoming["start"] == () and "start" not in plan.incoming  # a node without wires: none, not added
    with pytest.raises(TypeError):
        plan.nodes["x"] = None  # type: ignore[index]


async def test_a_plan_of_another_flow_is_refused():
    plan = FlowPlan.build(_flow(), CATALOG)
    with pytest.raises(ValueError, match="another flow"):
        start_run(_flow(), catalog=CATALOG, registry=make_registry(Probe()), plan=plan)


def test_the_grant_of_a_run_from_the_plans_folder_reuses_its_analysis(tmp_path, monkeypatch):
    flow = _flow()
    analysed = analyse(flow, CATALOG, str(tmp_path))
    plan = FlowPlan.build(flow, CATALOG, capabilities=analysed, flow_dir=str(tmp_path))
    calls = []
    monkeypatch.setattr(plan_module, "analyse", lambda *a, **k: calls.append(a) or analysed)
    run_dir = tmp_path / "runs" / "r1"
    grant = plan.grant(flow_dir=str(tmp_path), run_dir=run_dir, trusted=True)
    assert grant.capabilities is analysed and grant.trusted and calls == []
    assert tmp_path in grant.roots and run_dir in grant.roots
    assert any(root.name == "runs" and root != run_dir.parent for root in grant.roots)  # the runs folder
    grant.check_read(tmp_path / "data.csv", "Read")  # inside the flow's folder: allowed
    # A run from another folder gets that folder, analysed for it, never the plan's.
    other = tmp_path / "elsewhere"
    grant = plan.grant(flow_dir=str(other), run_dir=Path("relative") / "r2", trusted=False)
    assert other in grant.roots and tmp_path not in grant.roots
    assert Path("relative/r2").resolve() in grant.roots  # made absolute
