"""Queue mode's throughput: executions per second of one webhook flow with 1, 2 and 4 `studio
worker` processes behind `studio serve --queue` (Celery on a local redis-server), against one
plain `studio serve` running every run itself. Each run calls the fake OpenAI server (its own
process, fixed latency); every process is a real subprocess, the history the shared SQLite file.
Without redis-server the queue rows are reported as not measured, with the reason."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from studio.flow.io import save_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.processes import stop_processes

from .common import ROOT, child_env, fake_server
from .engine_bare import MODEL, PROMPT
from .report import Figure


def _flow(folder: Path) -> Path:
    hook = Node(id="hook", name="Hook", action="trigger.webhook",
                values={"method": "POST", "path": "/bench", "response_mode": "immediate"})
    ask = Node(id="ask", name="Ask", action="chat.create_completion",
               values={"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": False,
                       "timeout_ms": 120000})
    flow = Flow(name="bench webhook", nodes=[hook, ask],
                wires=[Wire(source=Endpoint(node="hook", port="output"), target=Endpoint(node="ask", port="in"))])
    path = folder / "bench-hook.flow.json"
    save_flow(flow, path)
    return path


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "studio.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        raise RuntimeError(f"studio {args[0]} did not start")
    return proc, line


def _stop(procs: list[subprocess.Popen]) -> None:
    stop_processes(*procs, grace_s=20)


def _finished(home: Path) -> int:
    path = home / "data" / "history.sqlite3"
    if not path.exists():
        path = next(home.rglob("history.sqlite3"), path)
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM runs WHERE status != 'running'").fetchone()[0]
    except sqlite3.Error:
        return 0


def _fire(base_url: str, count: int) -> None:
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            if client.post(f"{base_url}/bench", json={"i": i}).status_code != 202:
                raise RuntimeError("the webhook did not accept the run")


def _wait_recorded(home: Path, count: int, began: float, timeout_s: float = 600) -> None:
    while _finished(home) < count:
        if time.perf_counter() - began > timeout_s:
            raise RuntimeError(f"only {_finished(home)} of {count} runs finished in {timeout_s:.0f} s")
        time.sleep(0.02)


def _executions_per_s(base_url: str, home: Path, executions: int, warm_up: int) -> float:
    """Warm every process up (imports, first connection), then fire `executions` webhooks and
    wait until all are recorded; executions / elapsed."""
    _fire(base_url, warm_up)
    _wait_recorded(home, warm_up, time.perf_counter())
    began = time.perf_counter()
    _fire(base_url, executions)
    _wait_recorded(home, warm_up + executions, began)
    return executions / (time.perf_counter() - began)


def _measure(flow: Path, api: str, executions: int, workers: int, concurrency: int, queue: str | None) -> float:
    home = Path(tempfile.mkdtemp(prefix="flow-bench-scale-"))
    env = child_env(home)
    procs: list[subprocess.Popen] = []
    try:
        if queue is not None:
            for _ in range(workers):
                procs.append(_start(["worker", "--queue", queue, "--base-url", api, "--trust",
                                     "--concurrency", str(concurrency)], env)[0])
        args = ["serve", str(flow), "--port", "0", "--trust", "--base-url", api] + (["--queue", queue] if queue else [])
        proc, line = _start(args, env)
        procs.append(proc)
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            raise RuntimeError(f"studio serve said {line!r}")
        return _executions_per_s(match.group(1), home, executions, warm_up=max(1, workers * concurrency))
    finally:
        _stop(procs)


def run(executions: int = 200, latency_ms: float = 100.0, workers: tuple[int, ...] = (1, 2, 4),
        concurrency: int = 8, log=print) -> list[Figure]:
    from studio.queue.local_redis import MISSING, available, local_redis

    folder = Path(tempfile.mkdtemp(prefix="flow-bench-scale-flow-"))
    flow = _flow(folder)
    figures: list[Figure] = []
    with fake_server(latency_ms) as api:
        base = _measure(flow, api, executions, 0, 0, None)
        log(f"  plain studio serve: {base:.1f} executions/s")
        figures.append(Figure("scale-out: one plain studio serve", base, "exec/s",
                              notes=f"{executions} webhook runs, {latency_ms:g} ms per OpenAI call"))
        if not available():
            for n in workers:
                figures.append(Figure(f"scale-out: {n} worker(s) on Redis: not measured", float("nan"), "exec/s",
                                      notes=MISSING))
            return figures
        for n in workers:
            with local_redis() as queue:
                value = _measure(flow, api, executions, n, concurrency, queue)
            log(f"  {n} worker(s) x {concurrency} slots: {value:.1f} executions/s ({value / base:.2f}x plain serve)")
            figures.append(Figure(f"scale-out: {n} worker(s) x {concurrency} slots on Redis", value, "exec/s",
                                  "one plain studio serve", base,
                                  notes=f"{executions} runs; serve --queue enqueues, Celery workers run and record"))
    return figures
