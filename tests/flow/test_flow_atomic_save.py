"""A save killed at any moment leaves the file holding either the old or the new document."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.flow import Endpoint, Flow, Node, Wire
from studio.flow.io import dump_flow, load_flow, save_flow

ROOT = Path(__file__).resolve().parents[2]
KILLS = 30

SAVER = """
import sys
from studio.flow.io import load_flow, save_flow
a, b, target = sys.argv[1:4]
flows = [load_flow(a, validate=False), load_flow(b, validate=False)]
i = 0
while True:
    save_flow(flows[i % 2], target)
    if i == 0:
        print("ready", flush=True)
    i += 1
"""


def big_flow(tag: str, count: int = 1000) -> Flow:
    nodes = [Node(id="t", action="trigger.manual", name="Start")]
    nodes += [Node(id=f"{tag}-{i}", action="chat.create_completion", name=f"Step {i}",
                   values={"messages": [{"role": "user", "content": f"{tag} {i} " + "words " * 20}],
                           "temperature": 0.5})
              for i in range(count)]
    wires = [Wire(source=Endpoint(node=nodes[i].id, port="output"), target=Endpoint(node=nodes[i + 1].id, port="in"))
             for i in range(count)]
    return Flow(name=f"Big {tag}", nodes=nodes, wires=wires)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_killed_saves_never_leave_a_torn_file(tmp_path):
    a, b = big_flow("a"), big_flow("b")
    texts = {dump_flow(a), dump_flow(b)}
    assert len(dump_flow(a)) > 400_000  # big enough that a write is not one syscall's work
    save_flow(a, tmp_path / "a.json")
    save_flow(b, tmp_path / "b.json")
    target = tmp_path / "work" / "big.flow.json"
    target.parent.mkdir()
    save_flow(a, target)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(1234)
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                 str(target)], stdout=subprocess.PIPE, env=env, cwd=ROOT)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0, 0.2))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        assert target.read_text(encoding="utf-8") in texts
        assert load_flow(target, validate=False) in (a, b)
    # A killed save may leave its temporary file behind, but never under the flow's own name.
    leftovers = [p.name for p in target.parent.iterdir() if p != target]
    assert all(n.startswith(".big.flow.json.") and n.endswith(".tmp") for n in leftovers)
