"""A node's pinned output (n8n's pinned data) is reused by later runs: the node does not run, no
request for it reaches the server, and downstream nodes get the pinned value."""

from __future__ import annotations

import json
import subprocess
import sys

from studio.flow.io import load_flow
from studio.history import RunHistory
from studio.resources import examples_dir

PINNED_TEXT = "A pinned answer about tide pools."


def test_pinned_output_is_reused_without_a_request(tmp_path):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = examples_dir() / "chat-then-moderation.flow.json"
    flow = load_flow(path)
    write = flow.node_by_name("Write")
    RunHistory().pin_output(flow.id, write.id, {"choices": [{"message": {"role": "assistant", "content": PINNED_TEXT}}]})

    with FakeOpenAIServer(latency_ms=0) as server:
        done = subprocess.run(
            [sys.executable, "-m", "studio.cli", "run", str(path), "--base-url", server.base_url, "--json",
             "--use-pinned"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )
        paths = [r.path for r in server.requests]
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["nodes"]["Write"]["status"] == "skipped"
    assert result["nodes"]["Write"].get("reason") == "pinned"
    assert result["nodes"]["Check"]["status"] == "succeeded"
    assert not any("chat/completions" in p for p in paths), paths
    moderation = [r for r in server.requests if r.path.endswith("/moderations")]
    assert len(moderation) == 1 and moderation[0].json["input"] == PINNED_TEXT


def test_without_the_flag_the_pinned_node_runs(tmp_path):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = examples_dir() / "chat-then-moderation.flow.json"
    flow = load_flow(path)
    RunHistory().pin_output(flow.id, flow.node_by_name("Write").id, {"choices": []})
    with FakeOpenAIServer(latency_ms=0) as server:
        done = subprocess.run(
            [sys.executable, "-m", "studio.cli", "run", str(path), "--base-url", server.base_url, "--json"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )
        paths = [r.path for r in server.requests]
    assert done.returncode == 0, done.stderr
    assert any(p.endswith("/chat/completions") for p in paths)
