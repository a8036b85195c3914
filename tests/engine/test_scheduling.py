"""How the executor schedules: a node's task starts its successors when it ends, ready nodes wait
in a queue for one of `max_concurrency` slots (queued for the UI all the same), and stopping or
cancelling a run with queued nodes still ends every node in a final state."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from engine_testkit import CATALOG, Graph, Probe, make_registry
from studio.engine import executor
from studio.engine.context import NodeContext, NodeError, current_node
from studio.engine.events import NODE_FINAL_STATES
from studio.engine.executor import run_flow, start_run


def _node_task_count() -> int:
    return sum(1 for task in asyncio.all_tasks() if task.get_name().startswith("node "))


def _fan_out(count: int, action: str = "test.sleep", **values: Any) -> Graph:
    g = Graph().add("Start", "trigger.manual")
    for i in range(count):
        g.add(f"N{i:02d}", action, values=dict(values)).wire("Start", f"N{i:02d}")
    return g


def _lifecycles(result) -> dict[str, list[str]]:
    return {r.node_name: [e.type for e in result.events if e.node_id == r.node_id and e.type.startswith("node_")]
            for r in result.nodes.values()}


async def test_a_fan_out_over_the_limit_queues_every_node_and_holds_a_task_only_per_free_slot():
    probe = Probe()
    registry = make_registry(probe)
    started: list[str] = []
    tasks_seen: list[int] = []

    @registry.register("test.sleep")
    async def sleep(ctx: NodeContext) -> Any:
        started.append(ctx.node.name)
        tasks_seen.append(_node_task_count())
        probe.in_flight += 1
        probe.max_in_flight = max(probe.max_in_flight, probe.in_flight)
        await asyncio.sleep(ctx.inputs["delay_ms"] / 1000)
        probe.in_flight -= 1
        return ctx.node.name

    result = await run_flow(_fan_out(20, delay_ms=5).flow(), catalog=CATALOG, registry=registry, max_concurrency=3)
    assert result.status == "succeeded"
    names = [f"N{i:02d}" for i in range(20)]
    assert started == names  # first in, first out: in flow order
    assert probe.max_in_flight == 3
    assert max(tasks_seen) <= 3  # queued nodes have no task yet
    lifecycles = _lifecycles(result)
    assert all(lifecycles[name] == ["node_queued", "node_started", "node_succeeded"] for name in names)
    queued = [e.node_name for e in result.events if e.type == "node_queued" and e.node_name != "Start"]
    assert queued == names
    # Every node was queued before the first of them started (the UI shows them all waiting).
    first_start = next(i for i, e in enumerate(result.events) if e.type == "node_started" and e.node_name != "Start")
    assert all(i < first_start for i, e in enumerate(result.events) if e.type == "node_queued")


async def test_cancelling_a_fan_out_with_queued_nodes_ends_every_node():
    contexts: dict[str, NodeContext] = {}
    registry = make_registry(Probe())

    @registry.register("test.sleep")
    async def sleep(ctx: NodeContext) -> Any:
        contexts[ctx.node.name] = ctx
        await asyncio.sleep(30)

    handle = start_run(_fan_out(12).flow(), catalog=CATALOG, registry=registry, max_concurrency=3)
    while len(contexts) < 3:
        await asyncio.sleep(0.01)
    handle.cancel()
    result = await asyncio.wait_for(handle.result(), 5)
    assert result.status == "cancelled"
    assert all(r.status in NODE_FINAL_STATES for r in result.nodes.values())
    fan = [r for r in result.nodes.values() if r.node_name != "Start"]
    running = {r.node_name for r in fan if r.status == "cancelled"}
    assert running == set(contexts) == {"N00", "N01", "N02"}
    assert all(contexts[name].cancelled.is_set() for name in running)
    assert {r.status for r in fan if r.node_name not in running} == {"skipped"}
    assert {r.reason for r in fan} == {"run_cancelled"}
    lifecycles = _lifecycles(result)
    for r in fan:
        expected = ["node_queued", "node_started", "node_cancelled"] if r.node_name in running else ["node_queued", "node_skipped"]
        assert lifecycles[r.node_name] == expected
    assert _node_task_count() == 0


async def test_cancelling_the_awaiting_task_of_a_fan_out_with_queued_nodes_ends_every_node():
    probe = Probe()
    seen: list[Any] = []
    flow = _fan_out(10, delay_ms=30_000).flow()
    task = asyncio.create_task(run_flow(flow, catalog=CATALOG, registry=make_registry(probe), max_concurrency=2,
                                        on_event=seen.append))
    while probe.in_flight < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(probe.cancelled) == ["N00", "N01"]
    last = {e.node_name: e for e in seen if e.node_name}
    assert {name: e.type for name, e in last.items() if name.startswith("N")} == {
        f"N{i:02d}": "node_cancelled" if i < 2 else "node_skipped" for i in range(10)}
    assert seen[-1].type == "run_finished" and seen[-1].data["status"] == "cancelled"
    assert _node_task_count() == 0


async def test_a_stop_failure_cancels_the_nodes_in_flight_and_skips_the_queued_ones():
    probe = Probe()
    g = Graph().add("Start", "trigger.manual")
    g.add("Slow", "test.sleep", values={"delay_ms": 30_000}).wire("Start", "Slow")
    g.add("Bad", "test.fail", values={"retryable": False}).wire("Start", "Bad")
    for i in range(5):
        g.add(f"Later{i}", "test.sleep", values={"delay_ms": 1}).wire("Start", f"Later{i}")
    result = await asyncio.wait_for(run_flow(g.flow(), catalog=CATALOG, registry=make_registry(probe), max_concurrency=2), 5)
    assert result.status == "failed" and result.error["node"] == "Bad"
    assert result.node("Slow").status == "cancelled" and result.node("Slow").reason == "run_stopped"
    assert {(result.node(f"Later{i}").status, result.node(f"Later{i}").reason) for i in range(5)} == {("skipped", "run_stopped")}
    assert probe.cancelled == ["Slow"]


async def test_a_handlers_context_variables_do_not_reach_the_nodes_it_starts():
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")
    seen: dict[str, Any] = {}
    registry = make_registry(Probe())

    @registry.register("test.echo")
    async def echo(ctx: NodeContext) -> Any:
        seen[ctx.node.name] = (marker.get(), current_node.get() is ctx)
        marker.set(f"set by {ctx.node.name}")
        return ctx.node.name

    g = Graph().add("Start", "trigger.manual").add("A").add("B").add("C").chain("Start", "A", "B", "C")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry)
    assert result.status == "succeeded"
    assert seen == {"A": ("unset", True), "B": ("unset", True), "C": ("unset", True)}


async def test_without_listeners_no_events_are_kept_and_a_late_subscriber_still_gets_them():
    gate = asyncio.Event()
    registry = make_registry(Probe())

    @registry.register("test.sleep")
    async def sleep(ctx: NodeContext) -> Any:
        await gate.wait()
        return "done"

    g = Graph().add("Start", "trigger.manual").add("Wait", "test.sleep").add("After").chain("Start", "Wait", "After")
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry, keep_events=False)
    await asyncio.sleep(0.05)
    late: list[Any] = []
    handle.subscribe(late.append)
    gate.set()
    result = await handle.result()
    assert result.status == "succeeded" and result.events == []
    assert [(e.type, e.node_name) for e in late] == [
        ("node_succeeded", "Wait"), ("node_queued", "After"), ("node_started", "After"), ("node_succeeded", "After"),
        ("run_finished", None)]
    assert late[0].data["output_preview"] == "done"


async def test_a_listener_of_some_event_types_gets_only_those_and_the_run_builds_no_others(monkeypatch):
    from studio.engine import node_states

    registry = make_registry(Probe())

    @registry.register("test.wait")
    async def talk(ctx: NodeContext) -> Any:
        ctx.emit("progress", note="half")
        return {"said": "hi"}

    previews: list[Any] = []
    monkeypatch.setattr(node_states, "preview", lambda value: previews.append(value) or "p")
    g = Graph().add("Start", "trigger.manual").add("Talk", "test.wait").chain("Start", "Talk")
    seen: list[Any] = []
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry, keep_events=False, on_event=seen.append,
                       on_event_types=frozenset({"run_started", "progress"}))
    result = await handle.result()
    assert result.status == "succeeded" and result.output("Talk") == {"said": "hi"}
    assert [(e.type, e.node_name) for e in seen] == [("run_started", None), ("progress", "Talk")]
    assert seen[1].data == {"note": "half"}
    assert previews == []  # no node_succeeded event was built, so no output preview either
    everything: list[Any] = []
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry, keep_events=False, on_event=everything.append)
    await handle.result()
    assert [e.type for e in everything].count("node_succeeded") == 2 and len(previews) == 2


async def test_a_run_without_output_previews_builds_none_and_says_the_rest_of_each_node_end(monkeypatch):
    from studio.engine import node_states

    previews: list[Any] = []
    monkeypatch.setattr(node_states, "preview", lambda value: previews.append(value) or "p")
    g = Graph().add("Start", "trigger.manual").add("A").add("B").chain("Start", "A", "B")
    seen: list[Any] = []
    handle = start_run(g.flow(), catalog=CATALOG, registry=make_registry(Probe()), keep_events=False,
                       on_event=seen.append, output_previews=False)
    result = await handle.result()
    assert result.status == "succeeded"
    ends = [e for e in seen if e.type == "node_succeeded"]
    assert [e.node_name for e in ends] == ["Start", "A", "B"]
    assert all("output_preview" not in e.data and "duration_ms" in e.data and "attempts" in e.data for e in ends)
    assert previews == []


def _break_for(monkeypatch, method: str, node_id: str, error: Exception) -> None:
    """Make the run's `method` raise `error` for one node (an engine bug), as it is for the rest."""
    original = getattr(executor._Run, method)

    def broken(self, nid):
        if nid == node_id:
            raise error
        return original(self, nid)

    monkeypatch.setattr(executor._Run, method, broken)


async def test_a_bug_in_the_scheduler_is_raised_by_the_run_not_left_hanging(monkeypatch):
    _break_for(monkeypatch, "_decide", "B", RuntimeError("scheduler bug"))
    g = Graph().add("Start", "trigger.manual").add("A").add("B").chain("Start", "A", "B")
    with pytest.raises(RuntimeError, match="scheduler bug"):
        await asyncio.wait_for(run_flow(g.flow(), catalog=CATALOG, registry=make_registry(Probe())), 5)


async def test_a_crash_inside_a_nodes_task_fails_that_node_and_the_run_goes_on(monkeypatch, caplog):
    _break_for(monkeypatch, "_prepare", "A", KeyError("engine bug"))
    g = Graph().add("Start", "trigger.manual").add("A", on_error="continue").add("B").add("Other")
    g.chain("Start", "A", "B").chain("Start", "Other")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=make_registry(Probe()))
    assert result.node("A").status == "failed" and "engine bug" in result.node("A").error["message"]
    assert result.node("Other").status == "succeeded"
    assert "crashed the executor" in caplog.text


async def test_a_node_error_in_a_large_fan_out_stops_it_promptly():
    """A stop failure early in a fan-out of 200 queued nodes: the rest never start."""
    registry = make_registry(Probe())
    ran: list[str] = []

    @registry.register("test.echo")
    async def echo(ctx: NodeContext) -> Any:
        ran.append(ctx.node.name)
        if ctx.node.name == "N001":
            raise NodeError("N001: failed on purpose", retryable=False)
        await asyncio.sleep(0)
        return None

    g = Graph().add("Start", "trigger.manual")
    for i in range(200):
        g.add(f"N{i:03d}").wire("Start", f"N{i:03d}")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry, max_concurrency=4)
    assert result.status == "failed"
    assert len(ran) <= 8
    skipped = [r for r in result.nodes.values() if r.status == "skipped"]
    assert len(skipped) >= 190 and {r.reason for r in skipped} == {"run_stopped"}


async def test_a_handler_event_nobody_watches_is_not_copied_but_its_usage_still_counts(monkeypatch):
    from studio.engine import node_states

    registry = make_registry(Probe())

    @registry.register("test.wait")
    async def talk(ctx: NodeContext) -> Any:
        ctx.emit("usage", usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
        ctx.emit("tick", at=(1, 2))  # not an event type of its own: a "progress" event with its kind
        return "said"

    copied: list[Any] = []
    real = node_states.jsonable
    monkeypatch.setattr(node_states, "jsonable", lambda value: copied.append(value) or real(value))
    g = Graph().add("Start", "trigger.manual").add("Talk", "test.wait").chain("Start", "Talk")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry, keep_events=False)
    assert result.status == "succeeded" and result.usage["total_tokens"] == 7
    assert result.nodes["Talk"].usage["prompt_tokens"] == 3
    assert copied == [{}, "said"]  # the two outputs only (the Manual trigger's is {}): no event data
    copied.clear()
    seen: list[Any] = []
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry, keep_events=False, on_event=seen.append,
                       on_event_types=frozenset({"progress"}))
    result = await handle.result()
    assert result.usage["total_tokens"] == 7
    assert [(e.type, e.data) for e in seen] == [("progress", {"kind": "tick", "at": [1, 2]})]
    assert {"at": (1, 2)} in copied and not any(isinstance(value, dict) and "usage" in value for value in copied)
