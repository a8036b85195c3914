"""A finished run is freed by reference counting alone: nothing the run allocated per node waits
for the cycle collector (which, with 10,000 nodes, took most of a run's time)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

from benchmarks.executor import CATALOG, registry, trivial_flow
from studio.engine.context import NodeError
from studio.engine.executor import start_run


async def _noop(ctx: Any) -> None:
    await asyncio.sleep(0)


async def _fail(ctx: Any) -> None:
    await asyncio.sleep(0)
    raise NodeError(f"{ctx.node.name}: failed on purpose", retryable=False)


async def _hang(ctx: Any) -> None:
    await asyncio.sleep(30)


def _run_and_drop(shape: str, handler: Any, on_error: str = "stop", cancel: bool = False) -> tuple[str, list, weakref.ref]:
    """Run 50 nodes with `handler`, drop every reference to the run; return the run's status and
    weak references to its node contexts and to the run itself."""
    contexts: list[weakref.ref] = []

    async def watched(ctx: Any) -> None:
        contexts.append(weakref.ref(ctx))
        await handler(ctx)

    flow = trivial_flow(50, shape)
    for node in flow.nodes:
        node.on_error = on_error
    reg = registry()
    reg.register("bench.noop", watched)

    async def main() -> tuple[str, weakref.ref]:
        handle = start_run(flow, catalog=CATALOG, registry=reg, max_concurrency=8, keep_events=False)
        run = weakref.ref(handle._run)
        if cancel:
            while not contexts:
                await asyncio.sleep(0.01)
            handle.cancel()
        result = await handle.result()
        return result.status, run

    status, run = asyncio.run(main())
    return status, contexts, run


@pytest.mark.parametrize("shape", ["chain", "fan-out"])
@pytest.mark.parametrize("case", ["succeeded", "failed", "continued", "cancelled"])
def test_a_finished_runs_node_objects_are_freed_without_the_cycle_collector(shape: str, case: str) -> None:
    handler, on_error, cancel = {
        "succeeded": (_noop, "stop", False),
        "failed": (_fail, "stop", False),
        "continued": (_fail, "continue", False),
        "cancelled": (_hang, "stop", True),
    }[case]
    expected = "succeeded" if case == "continued" else case
    gc.collect()
    gc.disable()
    try:
        status, contexts, run = _run_and_drop(shape, handler, on_error, cancel)
        assert status == expected
        assert contexts, "no node ran"
        alive = [ref for ref in contexts if ref() is not None]
        assert not alive, f"{len(alive)} of {len(contexts)} node contexts outlived the run"
        assert run() is None, "the run outlived its result (it is in a reference cycle)"
    finally:
        gc.enable()
