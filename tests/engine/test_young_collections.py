"""While runs are going, the cyclic collector's young generation is collected every 10,000 net
new objects instead of Python's 700 (engine/young_collections.py): raised when the first run
begins, put back when the last one ends, and left alone when the process set its own."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from benchmarks.executor import CATALOG, registry, trivial_flow
from studio.engine import young_collections
from studio.engine.executor import start_run

RAISED = young_collections.YOUNG_THRESHOLD
# (trivial_flow(n): a Manual trigger and n - 1 no-op nodes)


@pytest.fixture(autouse=True)
def _thresholds_restored():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def _watching_registry(seen: list[int], release: asyncio.Event | None = None) -> Any:
    async def watched(ctx: Any) -> None:
        seen.append(gc.get_threshold()[0])
        if release is not None:
            await release.wait()

    reg = registry()
    reg.register("bench.noop", watched)
    return reg


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_the_young_threshold_is_raised_during_a_run_and_put_back_after():
    gc.set_threshold(700, 10, 10)
    seen: list[int] = []
    handle = start_run(trivial_flow(4, "chain"), catalog=CATALOG, registry=_watching_registry(seen), keep_events=False)
    assert (await handle.result()).status == "succeeded"
    assert seen == [RAISED] * 3
    assert gc.get_threshold() == (700, 10, 10)


async def test_overlapping_runs_keep_it_raised_until_the_last_one_ends():
    gc.set_threshold(700, 10, 10)
    seen: list[int] = []
    release = asyncio.Event()
    reg = _watching_registry(seen, release)
    first = start_run(trivial_flow(2, "chain"), catalog=CATALOG, registry=reg, keep_events=False)
    second = start_run(trivial_flow(2, "chain"), catalog=CATALOG, registry=reg, keep_events=False)
    await asyncio.wait_for(_until(lambda: len(seen) == 2), 5)
    first.cancel()
    await first.result()
    assert gc.get_threshold()[0] == RAISED  # the second run is still going
    release.set()
    assert (await second.result()).status == "succeeded"
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("own", [0, 50_000])
async def test_a_threshold_the_process_chose_is_left_alone(own: int):
    # 0: automatic collection off; 50,000: already higher than the engine's
    gc.set_threshold(own, 10, 10)
    seen: list[int] = []
    handle = start_run(trivial_flow(3, "chain"), catalog=CATALOG, registry=_watching_registry(seen), keep_events=False)
    await handle.result()
    assert seen == [own, own] and gc.get_threshold() == (own, 10, 10)


async def test_a_change_made_during_the_run_is_kept():
    gc.set_threshold(700, 10, 10)
    reg = registry()

    async def retune(ctx: Any) -> None:
        gc.set_threshold(2_000, 10, 10)  # someone else's policy, set while the run goes on

    reg.register("bench.noop", retune)
    await start_run(trivial_flow(2, "chain"), catalog=CATALOG, registry=reg, keep_events=False).result()
    assert gc.get_threshold() == (2_000, 10, 10)
