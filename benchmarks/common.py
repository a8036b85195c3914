"""Shared pieces: the fake OpenAI server in its own process (so its work never competes with the
measured code for this process's GIL), flow builders and a timer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from studio.flow.models import Endpoint, Flow, Node, Position, Wire
from studio.processes import stop_processes

ROOT = Path(__file__).resolve().parents[1]
from .engine_bare import MODEL, PROMPT
# One limit for both sides of every network comparison: the engine's max_concurrency and the
# baseline's semaphore. 100 is also the connection limit of the engine's pooled HTTP client.
CONCURRENCY = 100


def _chat_node(i: int, x: float, y: float) -> Node:
    return Node(id=f"chat-{i}", name=f"Chat_{i}", action="chat.create_completion",
                values={"model": MODEL, "messages": [{"role": "user", "content": f"{PROMPT} #{i}"}],
                        "stream": False, "timeout_ms": 120000},
                position=Position(x=x, y=y))


def _trigger() -> Node:
    return Node(id="start", name="Start", action="trigger.manual", position=Position(x=0, y=0))


def fan_out_flow(n: int, name: str = "bench fan-out") -> Flow:
    """One Manual trigger wired to `n` chat completion nodes."""
    nodes = [_trigger()] + [_chat_node(i, 400, 120 * i) for i in range(n)]
    wires = [Wire(source=Endpoint(node="start", port="output"), target=Endpoint(node=f"chat-{i}", port="in"))
             for i in range(n)]
    return Flow(name=name, nodes=nodes, wires=wires)


def chain_flow(n: int, name: str = "bench chain") -> Flow:
    """A Manual trigger then `n` chat completion nodes one after another."""
    nodes = [_trigger()] + [_chat_node(i, 300 * (i + 1), 0) for i in range(n)]
    ids = [node.id for node in nodes]
    wires = [Wire(source=Endpoint(node=a, port="output"), target=Endpoint(node=b, port="in"))
             for a, b in zip(ids, ids[1:])]
    return Flow(name=name, nodes=nodes, wires=wires)


def grid_flow(n: int, name: str = "bench grid") -> Flow:
    """An editor-sized flow: a trigger and `n - 1` chat nodes in rows of 20 chains (every node
    wired), laid out on a grid so the canvas has real geometry to index."""
    nodes = [_trigger()]
    wires = []
    for i in range(n - 1):
        row, col = divmod(i, 20)
        nodes.append(_chat_node(i, 300 * (col + 1), 140 * row))
        source = "start" if col == 0 else f"chat-{i - 1}"
        wires.append(Wire(source=Endpoint(node=source, port="output"), target=Endpoint(node=f"chat-{i}", port="in")))
    return Flow(name=name, nodes=nodes, wires=wires)


@contextlib.contextmanager
def fake_server(latency_ms: float) -> Iterator[str]:
    """Run `python -m studio.connectors.openai.fake_server` and yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio.connectors.openai.fake_server", "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        if not line.startswith("http"):
            raise RuntimeError(f"the fake server did not start (said {line!r})")
        yield line
    finally:
        stop_processes(proc)


def child_env(home: Path) -> dict[str, str]:
    """Environment for measured subprocesses: offscreen Qt, a private app home, no real key."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["FLOW_STUDIO_HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
