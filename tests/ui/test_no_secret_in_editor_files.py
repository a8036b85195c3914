"""Secrets stay in the credential store when the editor works too: after a run with a known key
(its request failing, so an error with request details is shown) plus autosave, save and export,
no file under the user's folders or the project folder holds the key, and the inspector shows
the request with its Authorization header redacted."""

from __future__ import annotations

import os
from pathlib import Path

from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.resources import examples_dir

# A fake key, built from parts so that no secret scanner takes this file for a leak.
KEY = "-".join(("sk", "test", "FAKE", "EDITOR", "KEY", "for", "the", "leak", "scan", "not", "real"))


def _holding(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]


def test_editor_files_and_views_never_hold_the_key(window, run_async, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    window._fill_run_on()
    window.run_on.setCurrentIndex(window.run_on.findData(""))
    assert window._run_connection() is None  # the default connection: the environment's key
    assert window.open_file(examples_dir() / "raw-request.flow.json")
    models = window.document.flow.node_by_name("Models").id
    window.document.set_node_value(models, "debug_request", True)
    with FakeOpenAIServer(latency_ms=0) as server:
        server.invalid_keys.add(KEY)
        window.runs.base_url = server.base_url
        assert window.run_flow()
        result = run_async(window.runs.wait())
        assert any(r.headers.get("authorization") == f"Bearer {KEY}" for r in server.requests)
    assert result.status == "failed"
    window.inspect_node(models)
    shown = window.run_panel.inspector.error_view.toPlainText()
    window.autosave()
    window._write(tmp_path / "copy.flow.json")
    window.export_bundle(tmp_path / "bundle.zip")
    home = Path(os.environ["FLOW_STUDIO_HOME"])
    assert _holding(home) == [] and _holding(tmp_path) == []
    error = result.nodes[models].error
    assert "invalid API key" in error["message"]
    text = repr(error)
    assert KEY not in text
    assert "invalid API key" in shown and KEY not in shown
    assert "authorization" in shown.lower() and "redacted" in shown.lower()  # the request is shown, its Authorization header redacted
