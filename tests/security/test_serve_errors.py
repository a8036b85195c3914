"""`studio serve` on a flow file it cannot use exits 2 with one line naming the file (the CLI's
exit code for a bad file), never a traceback; and validation messages never echo a huge value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.catalog import load_catalog
from studio.flow.errors import FlowLoadError
from studio.flow.io import parse_flow


def _serve(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    # FLOW_STUDIO_HOME (set by the autouse fixture) keeps the user folders in a temporary home.
    return subprocess.run([sys.executable, "-m", "studio.cli", "serve", str(path), "--port", "0"],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("content", [
    b'{"format_version": 1, "name": "broken',  # broken JSON
    b'{"format_version": 1, "name": "x", "nodes": 5}',  # JSON, but not a flow
    b"\xff\xfe not text",  # not UTF-8
    None,  # no such file
])
def test_serve_on_a_bad_flow_file_exits_2_naming_the_file(tmp_path, content):
    path = tmp_path / "bad-hook.flow.json"
    if content is not None:
        path.write_bytes(content)
    done = _serve(path, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and lines[0].startswith("studio serve: ") and str(path) in lines[0], done.stderr
    assert done.stdout == ""


def test_serve_on_a_folder_exits_2(tmp_path):
    folder = tmp_path / "not-a-file.flow.json"
    folder.mkdir()
    done = _serve(folder, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"studio serve: {folder}")


def test_serve_on_a_flow_with_a_100_kb_value_answers_briefly(tmp_path):
    big = "x" * 100_000
    doc = {"format_version": 1, "name": "Hook", "nodes": [
        {"id": "t", "action": "trigger.webhook", "name": "Hook", "values": {"path": "/h"}},
        {"id": "n", "action": "chat.create_completion", "name": "Ask", "values": {big: 1}},
    ], "wires": [{"source": {"node": "t", "port": "output"}, "target": {"node": "y" * 100_000, "port": big}}]}
    path = tmp_path / "huge.flow.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = _serve(path, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"studio serve: {path}")
    assert "(100,000 characters)" in done.stderr
    assert len(done.stderr) < 5_000, len(done.stderr)


def test_validation_messages_cut_long_user_values():
    big = "q" * 100_000
    doc = {"format_version": 1, "name": "F", "notes": [{"id": big, "text": ""}, {"id": big, "text": ""}],
           "nodes": [
               {"id": big, "action": "trigger.manual", "name": "Start", "values": {}},
               {"id": big, "action": "z" * 100_000, "name": "Other", "values": {}},
               {"id": "c", "action": "chat.create_completion", "name": "Ask", "values": {big: 1}},
           ],
           "wires": [{"source": {"node": big, "port": big}, "target": {"node": "c", "port": big}},
                     {"source": {"node": "c", "port": "output"}, "target": {"node": big * 2, "port": "in"}}]}
    with pytest.raises(FlowLoadError) as caught:
        parse_flow(json.dumps(doc).encode(), "f.flow.json", load_catalog(), True)
    problems = caught.value.problems
    assert len(problems) >= 5  # id, action, unknown input, note id, wire ends: each names the value, cut
    for problem in problems:
        assert len(problem.path) < 200 and len(problem.message) < 600, str(problem)[:300]
    text = str(caught.value)
    assert "(100,000 characters)" in text and "(200,000 characters)" in text
    assert len(text) < 5_000
