"""Figure 1, engine overhead: N chat completions against the fake server (fixed latency), sent by
a bare asyncio + httpx script and by the engine (in process and through `studio run`), with the
same concurrency limit on both sides."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import CONCURRENCY, ROOT, chain_flow, child_env, fake_server, fan_out_flow
from .engine_bare import bare_requests
from .report import Figure

LATENCY_MS = 50.0
RATIO_GOAL = 1.10
PER_NODE_GOAL_MS = 1.0


# --- the engine -----------------------------------------------------------------------------------


async def engine_run(base_url: str, flow: Any, concurrency: int) -> tuple[float, Any]:
    """Wall seconds for run_flow with the real handlers and the pooled client `studio run` uses."""
    from studio.catalog import load_catalog
    from studio.engine.executor import run_flow
    from studio.engine.handlers import default_registry
    from studio.runs.connections import Connector

    catalog, registry = load_catalog(), default_registry()  # loaded once, outside the timing
    start = time.perf_counter()
    connector = Connector(base_url)
    try:
        result = await run_flow(flow, catalog=catalog, registry=registry, connect=connector.connect,
                                max_concurrency=concurrency, keep_events=False,
                                run_dir=Path(tempfile.gettempdir()) / "flow-studio-bench")
    finally:
        await connector.aclose()
    seconds = time.perf_counter() - start
    if result.status != "succeeded":
        raise RuntimeError(f"benchmark run {result.status}: {result.error}")
    return seconds, result


def studio_run(base_url: str, flow: Any, concurrency: int, workdir: Path) -> tuple[float, float]:
    """(process wall seconds, the run's own duration in seconds) for `studio run FLOW --json`."""
    from studio.flow.io import save_flow

    path = workdir / f"{flow.name.replace(' ', '-')}.flow.json"
    save_flow(flow, path)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "studio.cli", "run", str(path), "--base-url", base_url, "--json",
         "--concurrency", str(concurrency)],
        capture_output=True, text=True, env=child_env(workdir / "home"), cwd=workdir, timeout=600,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"studio run failed ({done.returncode}): {done.stderr[-2000:]}")
    document = json.loads(done.stdout)
    if document["status"] != "succeeded" or len(document["nodes"]) != len(flow.nodes):
        raise RuntimeError(f"studio run: {document['status']}")
    return wall, document["duration_ms"] / 1000


def bare_script_process(base_url: str, n: int, concurrency: int, workdir: Path) -> float:
    """Process wall seconds for the bare script run as its own process (the fair partner of the
    `studio run` process wall: both pay for starting Python and their imports)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.bare", base_url, str(n), str(concurrency)],
                          capture_output=True, text=True, env=child_env(workdir / "home"), cwd=ROOT, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"bare script failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start


# --- the figures ----------------------------------------------------------------------------------


CANCEL_GOAL_S = 0.5


async def engine_cancel(base_url: str, n: int) -> float:
    """Seconds from RunHandle.cancel() until every node of an n-node fan-out, all n requests in
    flight on a server that would take 30 s to answer, has a final state."""
    from studio.catalog import load_catalog
    from studio.engine.executor import start_run
    from studio.engine.handlers import default_registry
    from studio.runs.connections import Connector

    started = 0
    all_started = asyncio.Event()

    def on_event(event: Any) -> None:
        nonlocal started
        if event.type == "node_started" and event.node_name != "Start":
            started += 1
            if started == n:
                all_started.set()

    connector = Connector(base_url)
    try:
        handle = start_run(fan_out_flow(n), catalog=load_catalog(), registry=default_registry(),
                           connect=connector.connect, max_concurrency=n, on_event=on_event, keep_events=False,
                           run_dir=Path(tempfile.gettempdir()) / "flow-bench-cancel")
        await asyncio.wait_for(all_started.wait(), 30)
        await asyncio.sleep(0.3)  # the requests are on the wire
        begin = time.perf_counter()
        handle.cancel()
        result = await handle.result()
        seconds = time.perf_counter() - begin
    finally:
        await connector.aclose()
    finals = {"succeeded", "failed", "skipped", "cancelled", "waiting"}
    if any(node.status not in finals for node in result.nodes.values()):
        raise RuntimeError("a node did not reach a final state after cancel")
    return seconds


async def bare_cancel(base_url: str, n: int) -> float:
    """The same for n bare httpx requests: seconds from cancelling their tasks until all ended."""
    from .engine_bare import chat_body, http_library

    httpx = http_library()
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        url = base_url.rstrip("/") + "/chat/completions"
        tasks = [asyncio.ensure_future(client.post(url, json=chat_body(i),
                                                   headers={"Authorization": "Bearer sk-local-placeholder"}))
                 for i in range(n)]
        await asyncio.sleep(0.5)
        begin = time.perf_counter()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return time.perf_counter() - begin


def _median(values: list[float]) -> float:
    return statistics.median(values)


def run(sizes: tuple[int, ...] = (100, 1000), chain: int = 100, repeats: int = 3,
        latency_ms: float = LATENCY_MS, concurrency: int = CONCURRENCY, cancel: int = 100,
        log=print) -> list[Figure]:
    figures: list[Figure] = []
    seen: dict[str, float] = {}
    limit = f"limit {concurrency} in flight on both sides (engine max_concurrency / baseline semaphore)"
    with fake_server(latency_ms) as url, tempfile.TemporaryDirectory(prefix="flow-bench-") as tmp:
        workdir = Path(tmp)

        async def measure() -> None:
            # Warm up both sides (imports, the SDK's first client, the server's first sockets).
            await bare_requests(url, 10, concurrency)
            await engine_run(url, fan_out_flow(10), concurrency)
            for n in sizes:
                flow = fan_out_flow(n)
                base, eng = [], []
                for _ in range(repeats):  # interleaved, so drift on the machine hits both sides
                    base.append(await bare_requests(url, n, concurrency))
                    eng.append((await engine_run(url, flow, concurrency))[0])
                b, e = _median(base), _median(eng)
                log(f"  fan-out {n}: bare {b:.3f} s, engine {e:.3f} s")
                figures.append(Figure(f"fan-out {n} chats, engine in process", e, "s", "bare asyncio+httpx", b,
                                      goal=f"ratio <= {RATIO_GOAL}", met=e / b <= RATIO_GOAL,
                                      notes=f"median of {repeats}; {latency_ms:g} ms latency; {limit}"))
            if chain:
                base_chain = await bare_requests(url, chain, 1, sequential=True)
                eng_chain = (await engine_run(url, chain_flow(chain), concurrency))[0]
                floor = chain * latency_ms / 1000
                per_node = (eng_chain - floor) / chain * 1000
                per_req = seen["bare_per_request_ms"] = (base_chain - floor) / chain * 1000
                log(f"  chain {chain}: bare {base_chain:.3f} s, engine {eng_chain:.3f} s")
                figures.append(Figure(f"chain {chain} chats: wall time", eng_chain, "s", "bare sequential httpx",
                                      base_chain, notes=f"{latency_ms:g} ms latency per request"))
                figures.append(Figure(f"chain {chain}: per-node overhead (wall - {chain}x latency)/{chain}",
                                      per_node, "ms", "same for bare httpx", per_req,
                                      goal=f"< {PER_NODE_GOAL_MS:g} ms", met=per_node < PER_NODE_GOAL_MS,
                                      notes="includes the HTTP round trip on this machine; see the next row"))
                figures.append(Figure(f"chain {chain}: engine + SDK share per node (engine - bare)/{chain}",
                                      (eng_chain - base_chain) / chain * 1000, "ms",
                                      goal=f"< {PER_NODE_GOAL_MS:g} ms",
                                      met=(eng_chain - base_chain) / chain * 1000 < PER_NODE_GOAL_MS,
                                      notes="executor, OpenAI SDK and handler above the bare script's request; "
                                            "the executor alone: figure 2's chain row"))

        asyncio.run(measure())

        # `studio run` in its own process: the run's own duration, and the whole process.
        for n in sizes:
            wall, inside = studio_run(url, fan_out_flow(n), concurrency, workdir)
            base_inside = asyncio.run(bare_requests(url, n, concurrency))
            base_wall = bare_script_process(url, n, concurrency, workdir)
            log(f"  studio run {n}: run {inside:.3f} s (bare {base_inside:.3f} s), process {wall:.3f} s (bare {base_wall:.3f} s)")
            figures.append(Figure(f"fan-out {n} chats, studio run (run duration)", inside, "s", "bare asyncio+httpx",
                                  base_inside, goal=f"ratio <= {RATIO_GOAL}", met=inside / base_inside <= RATIO_GOAL,
                                  notes=f"duration_ms from --json; --concurrency {concurrency}"))
            figures.append(Figure(f"fan-out {n} chats, studio run (whole process)", wall, "s",
                                  "bare script as a process", base_wall,
                                  notes="both include starting Python and imports; studio run also loads the "
                                        "catalog, the SDK and the run history"))
        if cancel:
            with fake_server(30_000) as slow_url:
                bare = asyncio.run(bare_cancel(slow_url, cancel))
                eng = asyncio.run(engine_cancel(slow_url, cancel))
            log(f"  cancel {cancel} in flight: engine {eng * 1000:.0f} ms (bare {bare * 1000:.0f} ms)")
            figures.append(Figure(f"cancel a run with {cancel} requests in flight", eng, "s",
                                  "cancelling the bare httpx tasks", bare, goal=f"<= {CANCEL_GOAL_S:g} s",
                                  met=eng <= CANCEL_GOAL_S,
                                  notes="until every node has a final state; server would answer in 30 s"))
        if chain:
            wall, inside = studio_run(url, chain_flow(chain), concurrency, workdir)
            floor = chain * latency_ms / 1000
            figures.append(Figure(f"chain {chain}, studio run: per-node overhead", (inside - floor) / chain * 1000,
                                  "ms", "same for bare httpx", seen.get("bare_per_request_ms"), goal=f"< {PER_NODE_GOAL_MS:g} ms",
                                  met=(inside - floor) / chain * 1000 < PER_NODE_GOAL_MS,
                                  notes="(run duration - latency floor) / nodes; same basis as the in-process row"))
    return figures
