"""Figure 2, the pure executor: a flow of 10,000 trivial nodes (a no-op handler, no network), as a
fan-out from one trigger and as a chain; its wall time and memory per node beside bare asyncio
doing the same number of no-op tasks."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from typing import Any

from studio.catalog.catalog import Catalog
from studio.catalog.models import Action, Port
from studio.engine import builtin
from studio.engine.handlers import HandlerRegistry
from studio.flow.models import Endpoint, Flow, Node, Wire

from .report import Figure

WALL_GOAL_RATIO = 3.0  # issue 19: within 3x of bare asyncio tasks, fan-out and chain
MEMORY_GOAL_RATIO = 2.0  # issue 19: memory per node within 2x
CONCURRENCY = 8  # the engine's default max_concurrency (`studio run` without --concurrency)

CATALOG = Catalog(actions=[
    Action(id="trigger.manual", kind="trigger", title="Manual", category="Bench", inputs=[],
           outputs=[Port(key="output", label="Output")], uses_connection=False),
    Action(id="bench.noop", kind="action", title="No-op", category="Bench", inputs=[], uses_connection=False),
], connections=[])


async def _noop(ctx: Any) -> Any:
    return None


def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    reg.register("trigger.manual", builtin.manual)
    reg.register("bench.noop", _noop)
    return reg


def trivial_flow(n: int, shape: str) -> Flow:
    """`n` nodes in all: a Manual trigger and `n - 1` no-op nodes, fanned out or chained."""
    nodes = [Node(id="t", name="Start", action="trigger.manual")]
    nodes += [Node(id=f"n{i}", name=f"N{i}", action="bench.noop") for i in range(n - 1)]
    if shape == "fan-out":
        sources = ["t"] * (n - 1)
    else:
        sources = ["t"] + [f"n{i}" for i in range(n - 2)]
    wires = [Wire(source=Endpoint(node=s, port="output"), target=Endpoint(node=f"n{i}", port="in"))
             for i, s in enumerate(sources)]
    return Flow(name=f"bench {shape}", nodes=nodes, wires=wires)


async def engine_wall(flow: Flow, reg: HandlerRegistry) -> float:
    from studio.engine.executor import run_flow

    start = time.perf_counter()
    result = await run_flow(flow, catalog=CATALOG, registry=reg, max_concurrency=CONCURRENCY, keep_events=False)
    seconds = time.perf_counter() - start
    if result.status != "succeeded" or any(r.status != "succeeded" for r in result.nodes.values()):
        raise RuntimeError(f"trivial run {result.status}")
    return seconds


async def bare_wall(n: int, shape: str) -> float:
    """The floor: `n` no-op coroutines as tasks behind the same semaphore (fan-out), or awaited one
    after another, each in its own task (chain)."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with semaphore:
            await _noop(None)

    start = time.perf_counter()
    if shape == "fan-out":
        await asyncio.gather(*(asyncio.create_task(one()) for _ in range(n)))
    else:
        for _ in range(n):
            await asyncio.create_task(one())
    return time.perf_counter() - start


async def bare_keeping_results(ids: list[str]) -> None:
    """The chain's floor for memory once each node's outcome is kept: one task after another (as
    `bare_wall`), each node's (status, output, started, finished) stored under its id, the least a
    run must keep to report every node. (Bare tasks alone keep nothing, so their peak per node is
    about zero and no executor that reports results can be within any ratio of it.)"""
    semaphore = asyncio.Semaphore(CONCURRENCY)
    results: dict[str, tuple] = {}

    async def one(node_id: str) -> None:
        async with semaphore:
            started = time.time()
            output = await _noop(None)
            results[node_id] = ("succeeded", output, started, time.time())

    for node_id in ids:
        await asyncio.create_task(one(node_id))


def _peak_bytes(make: Any) -> int:
    """Peak traced allocation while `make()` runs (its coroutine on a fresh loop)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        asyncio.run(make())
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def run(n: int = 10_000, repeats: int = 3, log=print) -> list[Figure]:
    figures: list[Figure] = []
    reg = registry()
    for shape in ("fan-out", "chain"):
        flow = trivial_flow(n, shape)
        asyncio.run(engine_wall(trivial_flow(50, shape), reg))  # warm-up
        eng = sorted(asyncio.run(engine_wall(flow, reg)) for _ in range(repeats))[repeats // 2]
        base = sorted(asyncio.run(bare_wall(n, shape)) for _ in range(repeats))[repeats // 2]
        log(f"  {n} trivial nodes, {shape}: engine {eng:.3f} s, bare asyncio {base:.3f} s")
        wall_ok = eng / base <= WALL_GOAL_RATIO
        figures.append(Figure(f"{n} trivial nodes ({shape}): wall time", eng, "s", f"bare asyncio, {n} tasks", base,
                              goal=f"ratio <= {WALL_GOAL_RATIO:g}", met=wall_ok,
                              notes=f"median of {repeats}; max_concurrency {CONCURRENCY}; events not kept"))
        if shape == "chain":
            figures.append(Figure(f"executor's own cost per node (chain of {n})", eng / n * 1000, "ms",
                                  "bare asyncio task", base / n * 1000, goal=f"ratio <= {WALL_GOAL_RATIO:g}", met=wall_ok,
                                  notes="scheduling, inputs, events and results per node, no network"))
        mem = _peak_bytes(lambda: engine_wall(flow, reg)) / n
        mem_base = _peak_bytes(lambda: bare_wall(n, shape)) / n
        log(f"  {n} trivial nodes, {shape}: {mem / 1024:.2f} KiB per node (bare {mem_base / 1024:.2f})")
        figures.append(Figure(f"{n} trivial nodes ({shape}): peak memory per node", mem / 1024, "KiB",
                              "bare asyncio task", mem_base / 1024,
                              goal=f"ratio <= {MEMORY_GOAL_RATIO:g}", met=mem <= MEMORY_GOAL_RATIO * mem_base,
                              notes="tracemalloc peak during the run / nodes (the flow document itself excluded)"
                                    + ("; bare chain tasks keep nothing, see the next figure" if shape == "chain" else "")))
        if shape == "chain":
            ids = [node.id for node in flow.nodes]
            mem_kept = _peak_bytes(lambda: bare_keeping_results(ids)) / n
            log(f"  {n} trivial nodes, chain: bare tasks keeping each result {mem_kept / 1024:.2f} KiB per node")
            figures.append(Figure(f"{n} trivial nodes (chain): peak memory per node, vs results kept", mem / 1024, "KiB",
                                  "bare tasks keeping each node's result", mem_kept / 1024,
                                  goal=f"ratio <= {MEMORY_GOAL_RATIO:g}", met=mem <= MEMORY_GOAL_RATIO * mem_kept,
                                  notes="the bare chain stores (status, output, started, finished) per node id, "
                                        "the least a run must keep to report every node"))
    return figures
