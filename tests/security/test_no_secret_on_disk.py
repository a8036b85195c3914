"""The API key lives only in the credential store (here: the environment). After runs that use it
-- one that succeeds with Raw Request's debug output on, one the server rejects -- no file the app
wrote (run records, artifacts, run history, logs, saved flows) and nothing it printed holds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.flow.io import load_flow, save_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.resources import examples_dir

# A fake key, built from parts so that no secret scanner takes this file for a leak.
KEY = "-".join(("sk", "test", "FAKE", "KEY", "for", "the", "leak", "scan", "not", "a", "real", "key"))


def _flow(tmp_path: Path) -> Path:
    start = Node(action="trigger.manual", name="Start")
    raw = Node(action="raw.request", name="Raw", values={"url": "/v1/models", "debug_request": True,
                                                          "headers": [{"key": "X-Trace", "value": "1"}]})
    chat = Node(action="chat.create_completion", name="Chat",
                values={"messages": [{"role": "user", "content": "hello"}]})
    flow = Flow(name="Secret check", nodes=[start, raw, chat], wires=[
        Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=raw.id, port="in")),
        Wire(source=Endpoint(node=raw.id, port="output"), target=Endpoint(node=chat.id, port="in")),
    ])
    path = tmp_path / "secret-check.flow.json"
    save_flow(flow, path)
    return path


def _run(path: Path, base_url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    return subprocess.run([sys.executable, "-m", "studio.cli", "run", str(path), "--base-url", base_url, "--json"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


def _files_holding(root: Path, secret: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if secret in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                pass
    return hits


def test_the_key_is_written_nowhere(tmp_path, _isolated_user_dirs):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    home = Path(os.environ["FLOW_STUDIO_HOME"])
    path = _flow(tmp_path)
    with FakeOpenAIServer(latency_ms=0) as server:
        good = _run(path, server.base_url, tmp_path)
        assert good.returncode == 0, good.stderr
        sent = [r.headers.get("authorization") for r in server.requests]
        assert f"Bearer {KEY}" in sent  # the key was really used
        server.invalid_keys.add(KEY)
        bad = _run(path, server.base_url, tmp_path)
        assert bad.returncode == 1
        assert "invalid API key" in bad.stderr
    # Debug output and errors were produced, so the scan below is meaningful.
    logs = list(home.rglob("*.log"))
    assert logs and any("raw request" in p.read_text(errors="ignore") for p in logs)
    assert any("[REDACTED]" in p.read_text(errors="ignore") for p in logs)
    for stream in (good.stdout, good.stderr, bad.stdout, bad.stderr):
        assert KEY not in stream
        assert KEY[8:30] not in stream  # not even a long slice of it
    secret = KEY.encode()
    assert _files_holding(home, secret) == []
    assert _files_holding(tmp_path, secret) == []


def test_a_saved_flow_never_holds_a_key(tmp_path):
    """A key pasted into a value is refused on load, so no flow file can carry one unnoticed."""
    from studio.flow.io import FlowLoadError

    flow = load_flow(examples_dir() / "raw-request.flow.json")
    data = json.loads(flow.model_dump_json())
    data["nodes"][1]["values"]["headers"] = [{"key": "Authorization", "value": f"Bearer {KEY}"}]
    bad = tmp_path / "leaky.flow.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FlowLoadError, match="secret"):
        load_flow(bad)
