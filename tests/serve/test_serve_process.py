"""`studio serve` as a real process: a webhook call starts a run that calls the (slow) fake OpenAI
server; SIGTERM mid-run stops the process cleanly and the run history records the run as
cancelled, nothing left "running"."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx

from studio.flow.io import save_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.history import RunHistory


def _flow(tmp_path):
    hook = Node(action="trigger.webhook", name="Hook",
                values={"method": "POST", "path": "/hooks/slow", "response_mode": "immediate"})
    ask = Node(action="chat.create_completion", name="Ask",
               values={"messages": [{"role": "user", "content": "{{ trigger.body.question }}"}], "stream": False,
                       "timeout_ms": 60000})
    flow = Flow(name="Slow hook", nodes=[hook, ask],
                wires=[Wire(source=Endpoint(node=hook.id, port="output"), target=Endpoint(node=ask.id, port="in"))])
    path = tmp_path / "slow-hook.flow.json"
    save_flow(flow, path)
    return path


def test_sigterm_mid_run_records_the_run_as_cancelled(tmp_path):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = _flow(tmp_path)
    with FakeOpenAIServer(latency_ms=30_000) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "studio.cli", "serve", str(path), "--port", "0", "--base-url", server.base_url,
             "--grace", "0.2", "--trust"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        )
        try:
            line = proc.stdout.readline()
            match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
            assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
            answer = httpx.post(f"{match.group(1)}/hooks/slow", json={"question": "still there?"}, timeout=10)
            assert answer.status_code == 202
            deadline = time.monotonic() + 20
            while server.in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.in_flight == 1  # the run is mid-request
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    [run] = RunHistory().list_runs()
    assert run.trigger == "webhook" and run.status == "cancelled"
    assert {n.node_name: n.status for n in RunHistory().get_run(run.run_id).nodes}["Ask"] == "cancelled"
