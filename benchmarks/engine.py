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

from studio.engine import young_collections

from .common import CONCURRENCY, ROOT, chain_flow, child_env, fake_server, fan_out_flow
from .engine_bare import bare_requests
from .report import Figure

LATENCY_MS = 50.0
# Issue 19: fan-out and chain within 1.10x of bare asyncio + httpx (in process and `studio run`'s
# run duration); the engine + client share of a chain node under 0.3 ms.
RATIO_GOAL = 1.10
SHARE_GOAL_MS = 0.3


# --- the engine -----------------------------------------------------------------------------------


async def engine_run(base_url: str, flow: Any, concurrency: int, *, direct: bool = True) -> tuple[float, Any]:
    """Wall seconds for run_flow with the real handlers and the pooled client `studio run` uses
    (`direct=False`: chat calls through the SDK's `post` instead of the direct JSON path)."""
    from studio.catalog import load_catalog
    from studio.connectors.openai.client import ClientPool
    from studio.engine.executor import run_flow
    from studio.engine.handlers import default_registry
    from studio.runs.connections import Connector

    catalog, registry = load_catalog(), default_registry()  # loaded once, outside the timing
    start = time.perf_counter()
    connector = Connector(base_url, pool=ClientPool(direct=direct))
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


def bare_script_process(base_url: str, n: int, concurrency: int, workdir: Path, *,
                        sequential: bool = False) -> tuple[float, float]:
    """(process wall seconds, its requests' own seconds) for the bare script run as its own
    process: the fair partner of `studio run`'s process wall (both pay for starting Python and
    their imports) and of its run duration (both send from a fresh process: new connections,
    code run for the first time; neither times the TLS set-up, benchmarks/bare.py)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.bare", base_url, str(n), str(concurrency)]
                          + (["sequential"] if sequential else []),
                          capture_output=True, text=True, env=child_env(workdir / "home"), cwd=ROOT, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"bare script failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start, float(done.stdout.strip())


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
    from .engine_bare import chat_body, http_library, tls_context

    httpx = http_library()
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=120, verify=tls_context()) as client:
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


def _paired_difference(values: list[float], baselines: list[float]) -> float:
    """The median of each repeat's value minus the baseline measured next to it."""
    return _median([value - base for value, base in zip(values, baselines)])


def _ratio_figure(name: str, value: float, baseline_name: str, baseline: float, notes: str) -> Figure:
    return Figure(name, value, "s", baseline_name, baseline, goal=f"ratio <= {RATIO_GOAL:g}",
                  met=value / baseline <= RATIO_GOAL, notes=notes)


def _share_figure(name: str, per_node_ms: float, notes: str, goal: bool = True) -> Figure:
    return Figure(name, per_node_ms, "ms", goal=f"< {SHARE_GOAL_MS:g} ms" if goal else "",
                  met=per_node_ms < SHARE_GOAL_MS if goal else None, notes=notes)


def _pairs(differences: list[float], nodes: int, first: str | list[str] = "be") -> str:
    """The paired differences per node in the order run, each marked with the side that went
    first (b: the bare chain, e: the engine; `first`: the even pairs' mark, then the odd
    ones', or one mark per pair), then their range: for the log."""
    marks = first if isinstance(first, list) else [first[index % 2] for index in range(len(differences))]
    marked = [f"{mark}{d / nodes * 1000:.3f}" for mark, d in zip(marks, differences)]
    return (", ".join(marked) + f" (range {min(differences) / nodes * 1000:.3f} to "
            f"{max(differences) / nodes * 1000:.3f})")


def run(sizes: tuple[int, ...] = (100, 1000), chain: int = 100, repeats: int = 3,
        latency_ms: float = LATENCY_MS, concurrency: int = CONCURRENCY, cancel: int = 100,
        chain_repeats: int | None = None, log=print) -> list[Figure]:
    """`chain_repeats` (default `repeats`): the chain's paired runs. Its share is the difference
    of two 5 s walls over 100 nodes, and one run of the same code differs from the next by up to
    0.4 ms a node: the share's goal row needs more pairs than the ratios do."""
    chain_repeats = chain_repeats or repeats
    figures: list[Figure] = []
    limit = f"limit {concurrency} in flight on both sides (engine max_concurrency / baseline semaphore)"
    sdk_note = ("for comparison, not a goal: chat calls through the OpenAI SDK's post instead of the direct "
                "JSON path (same retries, headers and errors); ClientPool(direct=False)")
    with fake_server(latency_ms) as url, tempfile.TemporaryDirectory(prefix="flow-bench-") as tmp:
        workdir = Path(tmp)

        async def measure() -> None:
            # Warm up both sides (imports, the SDK's first client, the server's first sockets).
            await bare_requests(url, 10, concurrency)
            await engine_run(url, fan_out_flow(10), concurrency)
            await engine_run(url, fan_out_flow(10), concurrency, direct=False)
            for n in sizes:
                flow = fan_out_flow(n)
                largest = n == max(sizes)
                base, eng, sdk, tuned = [], [], [], []
                for _ in range(repeats):  # interleaved, so drift on the machine hits every side
                    base.append(await bare_requests(url, n, concurrency))
                    eng.append((await engine_run(url, flow, concurrency))[0])
                    if largest:
                        sdk.append((await engine_run(url, flow, concurrency, direct=False))[0])
                        with young_collections.held():  # the collector setting a run has (engine/young_collections.py)
                            tuned.append(await bare_requests(url, n, concurrency))
                b, e = _median(base), _median(eng)
                log(f"  fan-out {n}: bare {b:.3f} s, engine {e:.3f} s"
                    + (f", engine on the SDK path {_median(sdk):.3f} s, bare with a run's collector setting "
                       f"{_median(tuned):.3f} s" if largest else ""))
                notes = f"median of {repeats}; {latency_ms:g} ms latency; {limit}"
                figures.append(_ratio_figure(f"fan-out {n} chats, engine in process", e, "bare asyncio+httpx", b,
                                             notes))
                if largest:
                    figures.append(Figure(f"fan-out {n} chats, engine in process, SDK path", _median(sdk), "s",
                                          "bare asyncio+httpx", b, notes=sdk_note))
                    figures.append(Figure(
                        f"fan-out {n} chats, engine in process, vs bare with a run's collector setting", e, "s",
                        "bare asyncio+httpx, young threshold 10,000", _median(tuned),
                        notes="for comparison, not a goal: a run collects the young generation every 10,000 net "
                              "new objects instead of 700 (engine/young_collections.py); this baseline does too, "
                              "so the ratio is the engine's own work"))
            if chain:
                flow = chain_flow(chain)
                base, eng, sdk = [], [], []
                base_cpu, eng_cpu = [], []  # this process's CPU seconds for the same runs

                async def bare_chain() -> None:
                    begin = time.process_time()
                    base.append(await bare_requests(url, chain, 1, sequential=True))
                    base_cpu.append(time.process_time() - begin)

                async def engine_chain() -> None:
                    begin = time.process_time()
                    eng.append((await engine_run(url, flow, concurrency))[0])
                    eng_cpu.append(time.process_time() - begin)

                for index in range(chain_repeats):
                    # Each pair next to each other, the side that goes first alternating: a
                    # machine slowing down or speeding up over a pair favours neither side.
                    for side in ((bare_chain, engine_chain) if index % 2 == 0 else (engine_chain, bare_chain)):
                        await side()
                    if index < repeats:  # the SDK path is for comparison, not a goal: fewer runs
                        sdk.append((await engine_run(url, flow, concurrency, direct=False))[0])
                b, e, k = _median(base), _median(eng), _median(sdk)
                # The share: the median of each pair's difference (engine minus the bare chain
                # of the same minute), not the difference of two medians of 5 s walls.
                share = _paired_difference(eng, base) / chain * 1000
                sdk_share = _paired_difference(sdk, base) / chain * 1000
                floor = chain * latency_ms / 1000
                log(f"  chain {chain}: bare {b:.3f} s, engine {e:.3f} s, engine on the SDK path {k:.3f} s; "
                    f"engine - bare per node, ms: {_pairs([x - y for x, y in zip(eng, base)], chain)}")
                figures.append(_ratio_figure(f"chain {chain} chats: wall time", e, "bare sequential httpx", b,
                                             f"median of {chain_repeats}; {latency_ms:g} ms latency per request"))
                figures.append(Figure(f"chain {chain}: per-node overhead (wall - {chain}x latency)/{chain}",
                                      (e - floor) / chain * 1000, "ms", "same for bare httpx",
                                      (b - floor) / chain * 1000,
                                      notes="includes the HTTP round trip on this machine; see the next row"))
                figures.append(_share_figure(f"chain {chain}: engine + client share per node (engine - bare)/{chain}",
                                             share,
                                             "executor, handler and OpenAI client above the bare script's request "
                                             f"(median of {chain_repeats} paired differences, the side going first "
                                             "alternating); the executor alone: figure 2's chain row"))
                figures.append(_share_figure(f"chain {chain}: engine + client share per node, SDK path",
                                             sdk_share, sdk_note, goal=False))
                cpu_share = _paired_difference(eng_cpu, base_cpu) / chain * 1000
                log(f"  chain {chain}: CPU per node, bare {_median(base_cpu) / chain * 1000:.3f} ms, "
                    f"engine {_median(eng_cpu) / chain * 1000:.3f} ms")
                figures.append(_share_figure(
                    f"chain {chain}: engine + client share per node, in CPU (engine - bare)/{chain}", cpu_share,
                    f"this process's CPU time for the same runs as the wall rows (medians of {chain_repeats}); the "
                    "fake server runs in a process of its own, so a busy machine moves this far less than "
                    "the difference of two 5 s walls"))

        asyncio.run(measure())

        # `studio run` in its own process: the run's own duration, and the whole process. Each
        # is one process, so a one-off pause on the machine moves it by tens of ms: the median
        # of `repeats`, interleaved with the baselines as above.
        for n in sizes:
            runs, base_runs, warm_runs = [], [], []
            for _ in range(repeats):
                runs.append(studio_run(url, fan_out_flow(n), concurrency, workdir))
                base_runs.append(bare_script_process(url, n, concurrency, workdir))
                warm_runs.append(asyncio.run(bare_requests(url, n, concurrency)))
            wall, inside = _median([w for w, _ in runs]), _median([i for _, i in runs])
            base_wall, base_inside = _median([w for w, _ in base_runs]), _median([i for _, i in base_runs])
            log(f"  studio run {n}: run {inside:.3f} s (bare script process {base_inside:.3f} s, bare in this "
                f"warm process {_median(warm_runs):.3f} s), process {wall:.3f} s (bare {base_wall:.3f} s); runs "
                + ", ".join(f"{i:.3f}" for _, i in runs) + "; bare " + ", ".join(f"{i:.3f}" for _, i in base_runs))
            figures.append(_ratio_figure(f"fan-out {n} chats, studio run (run duration)", inside,
                                         "bare asyncio+httpx, own process", base_inside,
                                         f"duration_ms from --json against the bare script's own timing of its "
                                         f"requests, each a fresh process; medians of {repeats}; --concurrency "
                                         f"{concurrency}"))
            figures.append(Figure(f"fan-out {n} chats, studio run (whole process)", wall, "s",
                                  "bare script as a process", base_wall,
                                  notes=f"median of {repeats}; both include starting Python and imports; studio run "
                                        "also loads the catalog, the SDK and the run history"))
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
            # Each `studio run` process next to a bare chain from a fresh process of its own (the
            # goal's partner: both send from a fresh process, neither times its set-up) and one in
            # this warm process (for reference), the order turning from repeat to repeat.
            insides, bases, warm = [], [], []
            sides = {"s": lambda: insides.append(studio_run(url, chain_flow(chain), concurrency, workdir)[1]),
                     "b": lambda: bases.append(bare_script_process(url, chain, 1, workdir, sequential=True)[1]),
                     "w": lambda: warm.append(asyncio.run(bare_requests(url, chain, 1, sequential=True)))}
            orders = ("sbw", "bws", "wsb")
            for index in range(chain_repeats):
                for side in orders[index % 3]:
                    sides[side]()
            inside, base_chain, warm_chain = _median(insides), _median(bases), _median(warm)
            paired = _paired_difference(insides, bases)
            warm_paired = _paired_difference(insides, warm)
            def went_first(other: str) -> list[str]:  # per repeat, which of studio run and `other` went first
                return [min("s" + other, key=orders[index % 3].index) for index in range(chain_repeats)]

            log(f"  studio run chain {chain}: run {inside:.3f} s (bare script process {base_chain:.3f} s, bare in this "
                f"warm process {warm_chain:.3f} s); run - bare process per node, ms: "
                f"{_pairs([x - y for x, y in zip(insides, bases)], chain, first=went_first('b'))}; "
                f"run - warm bare per node, ms: {_pairs([x - y for x, y in zip(insides, warm)], chain, first=went_first('w'))}")
            figures.append(_ratio_figure(f"chain {chain} chats, studio run (run duration)", inside,
                                         "bare sequential httpx, own process", base_chain,
                                         f"duration_ms from --json against the bare script's own timing of its "
                                         f"requests, each a fresh process; medians of {chain_repeats}"))
            figures.append(_share_figure(f"chain {chain}, studio run: engine + client share per node",
                                         paired / chain * 1000,
                                         f"(run duration - bare script process's chain) / nodes; median of "
                                         f"{chain_repeats} paired differences, the order of the sides turning"))
            figures.append(_share_figure(f"chain {chain}, studio run: share against a warm bare chain",
                                         warm_paired / chain * 1000,
                                         "for reference, not a goal: the same runs against the bare chain in the "
                                         "benchmark's own warm process (a fresh process's first requests "
                                         "counted as the engine's)", goal=False))
    return figures


# --- CPU per request: `python -m benchmarks.engine cpu` ------------------------------------------


async def _cpu_per_request(url: str, repeats: int, fan_out: int, chain: int) -> dict[str, tuple[float, float]]:
    """Median CPU milliseconds of this process per request, {side: (fan-out, chain)}. The fake
    server runs in its own process, so only the sending side is counted: a figure a busy machine
    moves far less than wall time."""
    sides = {
        "bare asyncio+httpx2": (lambda: bare_requests(url, fan_out, CONCURRENCY),
                                lambda: bare_requests(url, chain, 1, sequential=True)),
        "engine, direct path": (lambda: engine_run(url, fan_out_flow(fan_out), CONCURRENCY),
                                lambda: engine_run(url, chain_flow(chain), CONCURRENCY)),
        "engine, SDK path": (lambda: engine_run(url, fan_out_flow(fan_out), CONCURRENCY, direct=False),
                             lambda: engine_run(url, chain_flow(chain), CONCURRENCY, direct=False)),
    }
    for fan, _ in sides.values():
        await fan()  # warm-up
    seen: dict[str, tuple[list[float], list[float]]] = {side: ([], []) for side in sides}
    for _ in range(repeats):
        for side, (fan, line) in sides.items():
            for index, (call, n) in enumerate(((fan, fan_out), (line, chain))):
                begin = time.process_time()
                await call()
                seen[side][index].append((time.process_time() - begin) / n * 1000)
    return {side: (_median(fans), _median(lines)) for side, (fans, lines) in seen.items()}


def cpu_report(repeats: int = 5, fan_out: int = 1000, chain: int = 100, latency_ms: float = LATENCY_MS) -> str:
    with fake_server(latency_ms) as url:
        figures = asyncio.run(_cpu_per_request(url, repeats, fan_out, chain))
    bare = figures["bare asyncio+httpx2"]
    lines = [f"CPU ms per request in the sending process (median of {repeats}; fake server {latency_ms:g} ms)",
             f"{'side':22} {f'fan-out {fan_out}':>14} {'above bare':>11} {f'chain {chain}':>10} {'above bare':>11}"]
    for side, (fan, line) in figures.items():
        lines.append(f"{side:22} {fan:14.3f} {fan - bare[0]:11.3f} {line:10.3f} {line - bare[1]:11.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] != ["cpu"]:
        sys.exit("usage: python -m benchmarks.engine cpu [REPEATS]")
    print(cpu_report(int(sys.argv[2]) if len(sys.argv) > 2 else 5))
