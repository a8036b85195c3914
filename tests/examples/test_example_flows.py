"""Every example flow runs green end to end with `studio run` against the fake OpenAI server, and
the checked-in files are exactly what the generator writes (so they stay valid documents)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.resources import examples_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(examples_dir().glob("*.flow.json"))
NON_AGENT = [p for p in EXAMPLES if not p.name.startswith("agent-")]


@pytest.fixture(scope="module")
def server():
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    with FakeOpenAIServer(latency_ms=0) as fake:
        yield fake


def test_the_issue_examples_exist():
    names = {p.name for p in EXAMPLES}
    for expected in ("chat-then-moderation", "image-then-vision", "speech-then-transcription",
                     "file-upload-list-delete", "raw-request", "fan-out-fan-in"):
        assert f"{expected}.flow.json" in names


def test_checked_in_examples_match_the_generator(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import make_examples
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    for slug, flow in make_examples.examples().items():
        on_disk = json.loads((examples_dir() / f"{slug}.flow.json").read_text(encoding="utf-8"))
        assert on_disk == flow.model_dump(mode="json"), f"{slug}: run packaging/make_examples.py"


@pytest.mark.parametrize("path", NON_AGENT, ids=lambda p: p.name)
def test_example_runs_green_with_studio_run(path: Path, server, tmp_path):
    server.reset()
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENAI_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "studio.cli", "run", str(path), "--base-url", server.base_url, "--json"],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded"
    flow = json.loads(path.read_text(encoding="utf-8"))
    states = {name: node["status"] for name, node in result["nodes"].items()}
    assert states == {n["name"]: "succeeded" for n in flow["nodes"]}
    # The run is in the history, node by node, like a run started in the editor.
    from studio.history import RunHistory

    recorded = RunHistory().get_run(result["run_id"])
    assert recorded.status == "succeeded" and recorded.trigger == "cli"
    assert {n.node_name for n in recorded.nodes} == set(states)
    # Every API node really reached the server (triggers make no request).
    api_nodes = [n for n in flow["nodes"] if not n["action"].startswith("trigger.")]
    assert len(server.requests) >= len(api_nodes)


def test_fan_out_branches_overlap(server, tmp_path):
    """The three middle branches of fan-out-fan-in are in flight together."""
    server.reset()
    server.latency_ms = 300
    try:
        done = subprocess.run(
            [sys.executable, "-m", "studio.cli", "run", str(examples_dir() / "fan-out-fan-in.flow.json"),
             "--base-url", server.base_url, "--json"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )
    finally:
        server.latency_ms = 0
    assert done.returncode == 0, done.stderr
    assert server.max_in_flight >= 3
