"""The Tests tab: "Save as test" on a past run in History records a test (payload, cassette,
expectations) that then passes in `studio test`; running tests in the tab shows why one failed
and highlights its failing node on the canvas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from qtpy.QtCore import Qt

from studio.resources import examples_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server():
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.connectors.openai.simulated import simulated_answer

    with FakeOpenAIServer(latency_ms=0, answerer=simulated_answer) as srv:
        yield srv


def copy_example(tmp_path: Path, slug: str, with_cassettes: bool = True) -> Path:
    shutil.copy(examples_dir() / f"{slug}.flow.json", tmp_path)
    if with_cassettes:
        shutil.copytree(examples_dir() / f"{slug}.cassettes", tmp_path / f"{slug}.cassettes")
    return tmp_path / f"{slug}.flow.json"


def test_save_a_past_run_as_a_test_that_passes_in_studio_test(window, server, run_async, qtbot, tmp_path):
    path = copy_example(tmp_path, "fan-out-fan-in", with_cassettes=False)
    data = json.loads(path.read_text())
    data["tests"] = []
    path.write_text(json.dumps(data), encoding="utf-8")
    window.runs.base_url = server.base_url
    window.runs.record_history = True
    assert window.open_file(path)
    assert window.run_flow(trigger_payload={"topic": "owls"})
    result = run_async(window.runs.wait(), timeout=60)
    assert result.status == "succeeded", result.error

    history = window.history_panel
    history.refresh()
    assert history.select_run(result.run_id)
    panel = window.tests_panel
    panel.ask_name = lambda suggestion: "owls"
    assert history.test_button.isEnabled(), (history.current and history.current.status, history.selected_run_ids(), result.run_id)
    with qtbot.waitSignal(panel.saved, timeout=60_000) as saved:
        qtbot.mouseClick(history.test_button, Qt.MouseButton.LeftButton)
    test, outcome = saved.args
    assert outcome.status == "passed", outcome.to_json()
    assert test.payload == {"topic": "owls"}
    kinds = {(a.kind, a.node) for a in test.assertions}
    assert ("status", "Combine") in kinds and ("equals", "Combine") in kinds
    assert [t.name for t in window.document.flow.tests] == ["owls"]
    assert panel.tree.topLevelItem(0).text(3) == "passed"
    assert window.save()

    cassette = tmp_path / "fan-out-fan-in.cassettes" / "owls.json"
    assert len(json.loads(cassette.read_text())["interactions"]) == 4
    server.stop()  # the test replays offline
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "studio.cli", "test", str(path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and ":: owls" in done.stdout

    window.document.undo_stack.undo()  # saving the test is one undoable edit
    assert window.document.flow.tests == [] and panel.tree.topLevelItemCount() == 0


def test_run_all_shows_the_failure_and_highlights_the_failing_node(window, qtbot, tmp_path):
    path = copy_example(tmp_path, "chat-then-moderation")
    data = json.loads(path.read_text())
    write = next(n for n in data["nodes"] if n["name"] == "Write")
    write["values"]["model"] = "gpt-4.1"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert window.open_file(path)
    panel = window.tests_panel
    assert panel.tree.topLevelItemCount() == 1 and panel.run_all_button.isEnabled()
    with qtbot.waitSignal(panel.finished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.run_all_button, Qt.MouseButton.LeftButton)
    [outcome] = finished.args[0]
    assert outcome.status == "failed"
    assert panel.tree.topLevelItem(0).text(3) == "failed"
    text = panel.details.toPlainText()
    assert 'body.model: recorded "gpt-4o-mini", now "gpt-4.1"' in text
    assert 'Write.values.model: recorded "gpt-4o-mini", now "gpt-4.1"' in text
    write_id = window.document.flow.node_by_name("Write").id
    assert window.canvas.status(write_id) == "failed"
    assert window.canvas.selected_ids() == [write_id]


def test_assertions_are_edited_in_forms_generated_from_the_catalog(window, qtbot, tmp_path):
    path = copy_example(tmp_path, "raw-request")
    assert window.open_file(path)
    panel = window.tests_panel
    assert panel.select("list models")
    editor = panel.assertions
    before = len(window.document.flow.tests[0].assertions)
    assert editor.list.count() == before
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert len(window.document.flow.tests[0].assertions) == before + 1
    form = editor.form
    form.kind.setCurrentIndex(form.kind.findData("in_range"))
    assert set(form.editors) == {"minimum", "maximum", "length"}  # the catalog's fields for the kind
    form.node.setCurrentText("Models")
    form.path.setText("data")
    form.path.editingFinished.emit()
    form.editors["minimum"].set_value(1)
    form.editors["minimum"].edited.emit(1)
    form.editors["length"].set_value(True)
    form.editors["length"].edited.emit(True)
    added = window.document.flow.tests[0].assertions[-1]
    assert (added.kind, added.node, added.path) == ("in_range", "Models", "data")
    assert added.values["minimum"] == 1 and added.values["length"] is True
    assert "in_range on Models.data" in editor.list.item(editor.list.count() - 1).text()
    with qtbot.waitSignal(panel.finished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert finished.args[0][0].status == "passed", finished.args[0][0].to_json()
    while window.document.undo_stack.canUndo():  # every edit of the form is undoable
        window.document.undo_stack.undo()
    assert len(window.document.flow.tests[0].assertions) == before
    assert editor.list.count() == before


def test_assert_this_value_from_the_output_inspector(window, qtbot, tmp_path):
    path = copy_example(tmp_path, "chat-then-moderation")
    assert window.open_file(path)
    output = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}]}
    window.run_panel.inspector.show_result("Write", "succeeded", output)
    tree = window.run_panel.inspector.json_tree
    root = tree.topLevelItem(0)
    choices = next(root.child(i) for i in range(root.childCount()) if root.child(i).text(0) == "choices")
    content = choices.child(0).child(1).child(1)
    assert content.text(0) == "content"
    tree.setCurrentItem(content)
    assert window.tests_panel.assert_action in tree.actions()
    window.tests_panel.assert_action.trigger()
    added = window.document.flow.tests[0].assertions[-1]
    assert (added.kind, added.node, added.path, added.values) == (
        "equals", "Write", "choices[0].message.content", {"expected": "Hi"})


def test_renaming_a_node_renames_it_in_the_tests(window, tmp_path):
    path = copy_example(tmp_path, "chat-then-moderation")
    assert window.open_file(path)
    write = window.document.flow.node_by_name("Write").id
    window.document.rename_node(write, "Compose")
    test = window.document.flow.tests[0]
    assert {a.node for a in test.assertions} == {"Compose", "Check", ""}
    window.document.undo_stack.undo()
    assert {a.node for a in window.document.flow.tests[0].assertions} == {"Write", "Check", ""}
