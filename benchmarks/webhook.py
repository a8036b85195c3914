"""Figure 4, webhook throughput (the n8n benchmark shape): `studio serve` with a flow of a Webhook
trigger, one Edit Fields (Set) node, answering with the output of the last node to finish, every
execution recorded in the run history; against a bare Starlette endpoint (benchmarks/webhook_bare.py)
doing the same in the same run. Server and load generator (benchmarks/webhook_load.py) are each
their own process; both servers get the same load, interleaved, and the medians are reported.
On Linux the servers' CPU time per request is reported too: a shared machine moves the rates a
lot, the CPU each server spends on a request hardly at all."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from studio.flow.models import Endpoint, Flow, Node, Position, Wire

from .common import ROOT, child_env
from .report import Figure
from .webhook_bare import PATH

THROUGHPUT_GOAL = 1000.0  # executions per second
RATIO_GOAL = 2.0


def webhook_flow() -> Flow:
    hook = Node(id="hook", name="Webhook", action="trigger.webhook", position=Position(x=0, y=0),
                values={"method": "POST", "path": PATH, "response_mode": "last_node"})
    set_node = Node(id="set", name="Set", action="core.set", position=Position(x=300, y=0),
                    values={"include": "none", "assignments": [
                        {"name": "ok", "type": "boolean", "value": "true"},
                        {"name": "n", "type": "number", "value": "{{ input.body.n }}"}]})
    return Flow(name="bench webhook", nodes=[hook, set_node],
                wires=[Wire(source=Endpoint(node="hook", port="output"), target=Endpoint(node="set", port="in"))])


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, every thread) process `pid` has used, from /proc (Linux); None
    elsewhere. Unlike a rate, it hardly moves when other processes share the cores."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def _served(command: list[str], home: Path) -> Iterator[tuple[str, int]]:
    """Start a server process, yield its base URL (from its 'serving ... on URL' line) and pid,
    stop it with SIGTERM (as a user would) and wait for it to finish recording."""
    errors = (home / "server-stderr.txt").open("w")  # a file: a full pipe would stall the server's logging
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT, env=child_env(home))
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        if " on http" not in line:
            proc.kill()
            raise RuntimeError(f"the server did not start: {line!r} "
                               f"{(home / 'server-stderr.txt').read_text()[-2000:]}")
        yield line.rsplit(" on ", 1)[1], proc.pid
    finally:
        errors.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _load(url: str, total: int, connections: int, home: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "benchmarks.webhook_load", url + PATH, str(total), str(connections)],
                          capture_output=True, text=True, cwd=ROOT, env=child_env(home), timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    if result["statuses"] != {"200": total}:
        raise RuntimeError(f"not every request answered 200: {result['statuses']}")
    return result


def _count(db: Path, sql: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def studio_round(flow_path: Path, home: Path, total: int, connections: int, warm: int) -> dict:
    """One `studio serve` process: warm it up, measure, stop it, check every run was recorded."""
    db = home / "data" / "history.sqlite3"
    before = _count(db, "SELECT COUNT(*) FROM runs") if db.exists() else 0
    with _served([sys.executable, "-m", "studio.cli", "serve", str(flow_path), "--port", "0", "--trust"], home) as served:
        result = _measured(served, total, connections, warm, home)
    recorded = _count(db, "SELECT COUNT(*) FROM runs WHERE status='succeeded'") - before
    nodes = _count(db, "SELECT COUNT(*) FROM nodes")
    if recorded != warm + total or nodes < recorded * 2:
        raise RuntimeError(f"{warm + total} executions but {recorded} recorded as succeeded ({nodes} node rows)")
    return result


def bare_round(home: Path, total: int, connections: int, warm: int) -> dict:
    db = home / "bare.sqlite3"
    with _served([sys.executable, "-m", "benchmarks.webhook_bare", str(db)], home) as served:
        return _measured(served, total, connections, warm, home)


def _measured(served: tuple[str, int], total: int, connections: int, warm: int, home: Path) -> dict:
    """Warm the server up, then load it; the result also holds the server's CPU time per request."""
    url, pid = served
    _load(url, warm, connections, home)
    before = _cpu_seconds(pid)
    result = _load(url, total, connections, home)
    after = _cpu_seconds(pid)
    result["cpu_ms"] = (after - before) / total * 1000 if before is not None and after is not None else None
    return result


def run(total: int = 5000, connections: int = 32, repeats: int = 3, warm: int = 300, log=print) -> list[Figure]:
    from studio.flow.io import save_flow

    work = Path(tempfile.mkdtemp(prefix="flow-bench-webhook-"))
    flow_path = work / "webhook.flow.json"
    save_flow(webhook_flow(), flow_path)
    studio, bare = [], []
    for i in range(repeats):
        home = work / f"home-{i}"
        home.mkdir()
        studio.append(studio_round(flow_path, home, total, connections, warm))
        bare.append(bare_round(home, total, connections, warm))
        log(f"  webhook round {i + 1}: studio serve {total / studio[-1]['seconds']:.0f} exec/s, "
            f"bare {total / bare[-1]['seconds']:.0f} exec/s")

    def median(results: list[dict], key) -> float:
        return statistics.median(key(r) for r in results)

    rate = median(studio, lambda r: total / r["seconds"])
    rate_bare = median(bare, lambda r: total / r["seconds"])
    per = median(studio, lambda r: r["seconds"] / total * 1000)
    per_bare = median(bare, lambda r: r["seconds"] / total * 1000)
    p99 = median(studio, lambda r: r["latencies_ms"]["p99"])
    p99_bare = median(bare, lambda r: r["latencies_ms"]["p99"])
    shape = f"{total} POSTs over {connections} kept-alive connections, median of {repeats}; history recorded"
    figures = [
        Figure("webhook + Set, studio serve: executions per second", rate, "exec/s",
               "bare Starlette + SQLite row", rate_bare, goal=f">= {THROUGHPUT_GOAL:g} exec/s",
               met=rate >= THROUGHPUT_GOAL, notes=shape),
        Figure("webhook + Set, studio serve: time per execution", per, "ms", "bare Starlette + SQLite row", per_bare,
               goal=f"ratio <= {RATIO_GOAL:g}", met=per <= RATIO_GOAL * per_bare, notes=shape),
        Figure("webhook + Set, studio serve: p99 latency", p99, "ms", "bare Starlette + SQLite row", p99_bare,
               goal="reported", met=math.isfinite(p99), notes=shape),
    ]
    if all(r["cpu_ms"] is not None for r in studio + bare):  # Linux: the server's own CPU per request
        figures.append(Figure(
            "webhook + Set, studio serve: server CPU per execution", median(studio, lambda r: r["cpu_ms"]), "ms",
            "bare Starlette + SQLite row", median(bare, lambda r: r["cpu_ms"]),
            notes=shape + "; user + system time of the server process (all threads), hardly moved by load"))
    return figures
