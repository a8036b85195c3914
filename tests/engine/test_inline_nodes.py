"""Nodes whose handler never waits (handlers.runs_inline: the triggers, Set, If, Merge...) run
within the scheduler's turn, without a task of their own: the same results and events, their
context variables their own, the loop still turning in a long chain of them, and a marked
handler that does wait fails its node with an error that says so."""

from __future__ import annotations

import ast
import asyncio
import contextvars
import inspect
import textwrap
from typing import Any

from engine_testkit import ACTIONS, Graph, Probe, _action, make_registry
from studio.catalog.catalog import Catalog
from studio.engine import executor
from studio.engine.context import NodeContext, NodeError, current_node
from studio.engine.executor import run_flow, start_run
from studio.engine.handlers import default_registry, runs_inline

mark = contextvars.ContextVar("mark", default=None)
CATALOG = Catalog(actions=ACTIONS + [_action(action, []) for action in
                                     ("test.inline", "test.count", "test.liar", "test.flaky")], connections=[])


def _registry(seen: list[tuple[str, str | None, Any]]):
    registry = make_registry(Probe())

    @registry.register("test.inline")
    @runs_inline
    async def inline(ctx: NodeContext) -> Any:
        task = asyncio.current_task()
        seen.append((ctx.node.name, task.get_name() if task else None, mark.get()))
        mark.set(ctx.node.name)  # visible to nothing after this node
        return (ctx.upstream or 0) + 1

    return registry


async def test_a_chain_of_inline_nodes_runs_without_a_task_per_node_and_gives_the_same_results():
    seen: list[tuple[str, str | None, Any]] = []
    before = current_node.get()  # (a test before this one may have made a context here)
    g = Graph().add("Start", "trigger.manual")
    names = [f"N{i}" for i in range(5)]
    for name in names:
        g.add(name, "test.inline")
    g.chain("Start", *names)
    result = await run_flow(g.flow(), catalog=CATALOG, registry=_registry(seen), trigger_payload=0)
    assert result.status == "succeeded" and result.output("N4") == 5
    assert [name for name, _, _ in seen] == names
    assert not any(task.startswith("node ") for _, task, _ in seen)  # each ran in the run's own task
    assert [mark for _, _, mark in seen] == [None] * 5  # a node's context variables stayed its own
    kinds = [(e.type, e.node_name) for e in result.events if e.node_name == "N2"]
    assert kinds == [("node_queued", "N2"), ("node_started", "N2"), ("node_succeeded", "N2")]
    assert all(result.nodes[n].attempts == 1 and result.nodes[n].duration_ms is not None
               for n in result.nodes if result.nodes[n].node_name in names)
    assert current_node.get() is before and mark.get() is None  # nothing leaked into the caller's context


async def test_a_long_chain_of_inline_nodes_lets_the_loop_turn():
    seen: list[tuple[str, str | None, Any]] = []
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    at_node: list[int] = []
    registry = _registry(seen)

    @registry.register("test.count")
    @runs_inline
    async def count(ctx: NodeContext) -> Any:
        at_node.append(ticks)
        return None

    g = Graph().add("Start", "trigger.manual")
    names = [f"C{i}" for i in range(3 * executor.INLINE_PER_TURN)]
    for name in names:
        g.add(name, "test.count")
    g.chain("Start", *names)
    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await run_flow(g.flow(), catalog=CATALOG, registry=registry, keep_events=False)
    finally:
        tick.cancel()
    assert result.status == "succeeded" and len(at_node) == len(names)
    assert at_node[-1] > at_node[0]  # other tasks ran between the first node and the last


async def test_an_inline_handler_that_waits_fails_its_node_with_an_error_that_says_so():
    registry = make_registry(Probe())

    @registry.register("test.liar")
    @runs_inline
    async def liar(ctx: NodeContext) -> Any:
        await asyncio.sleep(0.01)
        return "never"

    g = Graph().add("Start", "trigger.manual").add("Liar", "test.liar").chain("Start", "Liar")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry)
    node = next(r for r in result.nodes.values() if r.node_name == "Liar")
    assert result.status == "failed" and node.status == "failed"
    assert "marked to run inline but waited" in node.error["message"]


async def test_an_inline_node_that_fails_or_has_retries_behaves_as_a_task_node_would():
    tries: list[int] = []
    registry = make_registry(Probe())

    @registry.register("test.flaky")
    @runs_inline
    async def flaky(ctx: NodeContext) -> Any:
        tries.append(1)
        if len(tries) == 1:
            raise NodeError("first try fails")
        task = asyncio.current_task()
        return task.get_name() if task else None

    g = Graph().add("Start", "trigger.manual").add("Flaky", "test.flaky", retry=(2, 1)).chain("Start", "Flaky")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry)
    node = next(r for r in result.nodes.values() if r.node_name == "Flaky")
    assert result.status == "succeeded" and node.attempts == 2
    assert node.output == "node Flaky"  # retries wait between tries: such a node gets a task
    tries.clear()
    g = Graph().add("Start", "trigger.manual").add("Once", "test.flaky").chain("Start", "Once")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry)
    assert result.status == "failed" and result.error["message"].endswith("first try fails")


async def test_inline_and_task_nodes_share_a_fan_out_under_a_limit_of_one():
    seen: list[tuple[str, str | None, Any]] = []
    registry = _registry(seen)
    g = Graph().add("Start", "trigger.manual")
    for i in range(6):
        name = f"F{i}"
        g.add(name, "test.inline" if i % 2 else "test.sleep", values={} if i % 2 else {"delay_ms": 10})
        g.wire("Start", name)
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry, trigger_payload=0, max_concurrency=1)
    result = await handle.result()
    assert result.status == "succeeded"
    assert sorted(r.node_name for r in result.nodes.values() if r.status == "succeeded") == \
        ["F0", "F1", "F2", "F3", "F4", "F5", "Start"]


def test_every_handler_marked_to_run_inline_awaits_nothing():
    """A guard on the marks themselves: the marked handlers' code has no await at all."""
    registry = default_registry()
    marked = {action: registry.get(action) for action in registry
              if getattr(registry.get(action), "runs_inline", False)}
    assert {"trigger.manual", "trigger.webhook", "core.set", "core.if", "core.merge"} <= set(marked)
    assert "core.wait" not in marked and "core.loop" not in marked
    for action, handler in marked.items():
        tree = ast.parse(textwrap.dedent(inspect.getsource(handler)))
        waits = [node for node in ast.walk(tree) if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith))]
        assert waits == [], f"{action}: marked runs_inline but waits on something"
