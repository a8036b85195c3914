"""Ctrl-C during `studio run`: every request in flight is cancelled, every node ends in a final
state, the result document says so, the history records the run as cancelled, and the exit code
is 130 — nothing left hanging, nothing lost."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from studio.flow.io import save_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.history import RunHistory


def test_ctrl_c_cancels_the_run_cleanly(tmp_path):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    start = Node(action="trigger.manual", name="Start")
    slow = [Node(action="chat.create_completion", name=f"Slow {i}",
                 values={"messages": [{"role": "user", "content": "wait"}], "stream": False, "timeout_ms": 60000})
            for i in range(3)]
    after = Node(action="moderation.classify", name="After", values={"input": "x"})
    wires = [Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=n.id, port="in")) for n in slow]
    wires.append(Wire(source=Endpoint(node=slow[0].id, port="output"), target=Endpoint(node=after.id, port="in")))
    path = tmp_path / "slow.flow.json"
    save_flow(Flow(name="Slow", nodes=[start, *slow, after], wires=wires), path)

    with FakeOpenAIServer(latency_ms=30_000) as server:
        proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "run", str(path), "--base-url", server.base_url,
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        deadline = time.monotonic() + 30
        while server.in_flight < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.in_flight == 3
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert server.wait_idle(5)  # the client hung up on every request
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["status"] == "cancelled"
    states = {name: node["status"] for name, node in result["nodes"].items()}
    assert states == {"Start": "succeeded", "Slow 0": "cancelled", "Slow 1": "cancelled", "Slow 2": "cancelled",
                      "After": "skipped"}
    assert "interrupted" in err
    assert RunHistory().get_run(result["run_id"]).status == "cancelled"
