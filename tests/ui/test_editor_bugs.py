"""Editor bugs found in review, each driven through real widgets: Ctrl+Z on the canvas, the
Connections dialog's Test, renaming a node, running with problems, bundled examples, opening a
file from the command line, export errors and renaming the flow."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import QApplication

from studio.flow.models import Endpoint, Wire


def test_ctrl_z_on_the_canvas_undoes_the_document(window, qtbot):
    canvas, doc = window.canvas, window.document
    window._show_canvas()
    a = canvas.add_action("trigger.manual", (0, 0))
    b = canvas.add_action("chat.create_completion", (320, 40))
    doc.connect(Wire(source=Endpoint(node=a, port="output"), target=Endpoint(node=b, port="in")))
    canvas.select([a])
    window.act_select_all.trigger()
    canvas.viewer.setFocus()
    qtbot.wait(10)
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.flow.wires == []
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [n.id for n in doc.flow.nodes] == [a]
    # NodeGraphQt's own undo stack stays unused
    assert canvas.graph.undo_stack().count() == 0
    # the canvas context menu offers the document's Undo/Redo, not NodeGraphQt's
    menu = canvas.viewer.context_menus()["graph"]
    actions = [x for x in menu.actions() if not x.isSeparator()]
    assert window.act_undo in actions and window.act_redo in actions
    assert canvas.viewer.qaction_for_undo() not in actions
    assert canvas.viewer.qaction_for_redo() not in actions
    # the only action bound to Ctrl+Z anywhere in the window is the document's
    undo_keys = QKeySequence(QKeySequence.StandardKey.Undo)
    bound = [x for x in window.findChildren(type(window.act_undo)) if x.associatedObjects()
             and undo_keys in x.shortcuts()]
    assert bound == [window.act_undo]


# -- 2. Connections: Test checks what the form holds ------------------------------------------------


def _dialog_with_saved_connection(qtbot, base_url):
    from keyring_testkit import MemoryKeyring

    from studio.credentials import ConnectionRecord, ConnectionStore
    from studio.ui.connections import ConnectionsDialog

    import tempfile
    from pathlib import Path

    store = ConnectionStore(Path(tempfile.mkdtemp()), keyring_backend=MemoryKeyring())
    store.save(ConnectionRecord(name="work", base_url=base_url), api_key="simulated-offline-key")
    dialog = ConnectionsDialog(store=store)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_connection_test_uses_the_values_in_the_form(qtbot):
    dialog = _dialog_with_saved_connection(qtbot, "https://saved.example/v1")
    assert dialog.list.currentItem().data(256) == "work"
    tested = []
    dialog.tester.run = tested.append
    dialog.url_edit.clear()
    qtbot.keyClicks(dialog.url_edit, "https://typed.example/v1")
    qtbot.keyClicks(dialog.key_edit, "sk-typed")
    qtbot.keyClicks(dialog.org_edit, "org-typed")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert len(tested) == 1
    settings = tested[0]
    assert (settings.base_url, settings.api_key, settings.organization) == (
        "https://typed.example/v1", "sk-typed", "org-typed")
    # an empty key field keeps the saved key of the connection named in the form
    dialog.tester.run = tested.append
    dialog._tested(True, "")
    dialog.key_edit.clear()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert tested[-1].api_key == "simulated-offline-key"
    assert tested[-1].base_url == "https://typed.example/v1"
    # New clears the form: an unnamed, keyless new connection is not tested with the old key
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    dialog._tested(True, "")
    qtbot.keyClicks(dialog.url_edit, "https://other.example/v1")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert len(tested) == 2
    assert "key" in dialog.result.text().lower()


def test_connection_test_reports_a_wrong_url_typed_over_a_working_entry(qtbot):
    from studio.connectors.openai.simulated import ensure_simulated_server

    dialog = _dialog_with_saved_connection(qtbot, ensure_simulated_server())
    dialog.url_edit.setText("http://127.0.0.1:9/v1")  # nothing listens there
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result.text().startswith(("✔", "✘")), timeout=20000)
    assert dialog.result.text().startswith("✘"), dialog.result.text()


# -- 3. Renaming a node keeps the expressions that read it working --------------------------------


def _three_nodes(window):
    canvas, doc = window.canvas, window.document
    t = canvas.add_action("trigger.manual", (0, 0))
    w = canvas.add_action("chat.create_completion", (300, 0))
    u = canvas.add_action("chat.create_completion", (600, 0))
    doc.connect(Wire(source=Endpoint(node=t, port="output"), target=Endpoint(node=w, port="in")))
    doc.connect(Wire(source=Endpoint(node=w, port="output"), target=Endpoint(node=u, port="in")))
    doc.set_node_field(w, "name", "Write")
    doc.set_node_field(u, "name", "Use")
    for nid in (w, u):
        doc.set_node_value(nid, "model", "gpt-4o-mini")
    doc.set_node_value(u, "messages", [{"role": "user", "content": "Improve: {{ nodes.Write.output.choices[0] }}"}])
    return t, w, u


def test_renaming_a_node_renames_the_expressions_that_read_it(window, qtbot):
    doc = window.document
    _t, w, u = _three_nodes(window)
    window.refresh_side_panels()
    assert window.problems.problems == []
    window.canvas.select([w])
    edit = window.panel.name_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "First draft")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert doc.node(w).name == "First draft"
    content = doc.node(u).values["messages"][0]["content"]
    assert content == 'Improve: {{ nodes["First draft"].output.choices[0] }}'
    window.refresh_side_panels()
    assert window.problems.problems == []
    # one undo step puts back both the name and the expression
    window.act_undo.trigger()
    assert doc.node(w).name == "Write"
    assert doc.node(u).values["messages"][0]["content"] == "Improve: {{ nodes.Write.output.choices[0] }}"


def test_an_expression_reading_a_missing_node_is_a_problem_on_its_field(window, qtbot):
    doc = window.document
    _t, w, u = _three_nodes(window)
    doc.set_node_value(u, "messages", [{"role": "user", "content": "{{ nodes.Wrte.output }}"}])
    window.refresh_side_panels()
    rows = window.problems.rows()
    assert len(rows) == 1, rows
    where, message = rows[0]
    assert where.startswith("Use (nodes[2].values.messages")
    assert "Wrte" in message and "Write" in message  # did you mean
    window.problems_dock.show()
    window.problems.tree.setCurrentItem(window.problems.tree.topLevelItem(0))
    window.problems._activated(window.problems.tree.topLevelItem(0))
    assert window.canvas.selected_ids() == [u]


# -- 4. Run refuses while Problems lists errors -----------------------------------------------------


@pytest.mark.parametrize("how", ["run", "run_from", "run_only"])
def test_run_refuses_while_the_flow_has_problems(window, qtbot, monkeypatch, how):
    doc = window.document
    _t, w, u = _three_nodes(window)
    doc.set_node_value(w, "temperature", 9)  # out of range: a problem
    started = []
    monkeypatch.setattr(window.runs, "start", lambda *a, **k: started.append((a, k)) or True)
    window.run_dock.raise_()
    window.canvas.select([w])
    window.canvas.viewer.setFocus()
    key = {"run": (Qt.Key.Key_F5, Qt.KeyboardModifier.NoModifier),
           "run_from": (Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier),
           "run_only": (Qt.Key.Key_F6, Qt.KeyboardModifier.NoModifier)}[how]
    qtbot.keyClick(window.canvas.viewer, *key)
    assert started == []
    assert window.problems_dock.isVisible() and not window.problems_dock.visibleRegion().isEmpty()
    assert window.problems.problems and "temperature" in window.problems.problems[0].path
    assert "Not run" in window.statusBar().currentMessage()
    # fixed: the same key runs
    doc.set_node_value(w, "temperature", None)
    qtbot.keyClick(window.canvas.viewer, *key)
    assert len(started) == 1


def test_warnings_in_problems_do_not_stop_a_run_and_the_field_shows_its_warning(window, qtbot, monkeypatch):
    doc = window.document
    _three_nodes(window)
    check = window.canvas.add_action("moderation.classify", (900, 0))  # its required Text Input left empty
    doc.set_node_field(check, "name", "Check")
    started = []
    monkeypatch.setattr(window.runs, "start", lambda *a, **k: started.append((a, k)) or True)
    window.canvas.viewer.setFocus()
    qtbot.keyClick(window.canvas.viewer, Qt.Key.Key_F5)
    assert len(started) == 1  # a warning is not an error
    [warning] = [p for p in window.problems.problems if p.severity == "warning"]
    assert warning.message == "Check: 'Text Input' is required; expected a value, an expression or a wire into it"
    assert "1 warning: the flow runs" in window.problems.summary.text()
    window.canvas.select([check])
    qtbot.waitUntil(lambda: window.panel.node_id == check)
    window.panel.validate()
    assert "'Text Input' is required" in (window.panel.fields["input"].error_text() or "")


# -- 5. Bundled examples are never overwritten; Save As starts in the documents folder -------------


@pytest.fixture
def examples(tmp_path, monkeypatch):
    """A copy of the bundled examples folder stands in for it (so a regression cannot write over
    the real files)."""
    import shutil

    import studio.resources as resources

    folder = tmp_path / "bundle" / "examples"
    shutil.copytree(resources.examples_dir(), folder)
    monkeypatch.setattr(resources, "examples_dir", lambda: folder)
    return folder


def test_an_example_opened_from_open_recent_is_a_new_copy(window, examples, tmp_path, monkeypatch):
    from qtpy.QtWidgets import QFileDialog

    from studio.ui.main_window import documents_dir

    example = examples / "chat-then-moderation.flow.json"
    before = example.read_bytes()
    window.settings["recent"] = [str(example)]
    window._fill_recent()
    asked = []
    target = tmp_path / "mine.flow.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, title, start, *a: (asked.append(start) or str(target), "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a: (str(example), "")))
    for open_it in (lambda: window.recent_menu.actions()[0].trigger(), window.act_open.trigger):
        assert open_it() is None
        assert window.document.flow.nodes and window.document.path is None
        window.document.set_flow_name(window.document.flow.name + " (edited)")
        window.act_save.trigger()  # no file yet: Save As, in the documents folder
        assert example.read_bytes() == before
        assert asked and asked[-1].startswith(str(documents_dir())), asked
        assert not asked[-1].startswith(str(examples))
        assert window.document.path == target and target.exists()
        assert str(example) not in window.settings["recent"][:1]


# -- 6. `flow-studio FILE` and `studio FILE` open the file ----------------------------------------


def test_flow_studio_and_studio_with_a_file_open_it_in_the_editor(tmp_path, monkeypatch, qtbot, qasync_loop):
    import sys

    import studio.ui.app as app
    from studio import cli
    from studio.flow.io import save_flow
    from studio.flow.models import Flow, Node

    path = tmp_path / "mine.flow.json"
    save_flow(Flow(name="Mine", nodes=[Node(action="trigger.manual", name="Start")]), path)
    opened = []
    monkeypatch.setattr(app, "run_app", lambda files=None: opened.append(list(files or [])) or 0)
    monkeypatch.setattr(sys, "argv", ["flow-studio", str(path)])
    assert cli.gui_main() == 0  # what the .desktop entry runs: flow-studio %F
    assert cli.main([str(path)]) == 0  # the user guide's `studio FILE.flow.json`
    assert cli.main(["gui", str(path)]) == 0
    assert opened == [[str(path)]] * 3
    # the window opens it
    window = app.open_window(opened[0], record_history=False, autosave=False)
    qtbot.addWidget(window)
    assert window.document.path == path
    assert [n.name for n in window.document.flow.nodes] == ["Start"]
    assert window.windowTitle().startswith("mine.flow.json")


# -- 7. Export errors are shown; exports start beside the flow; the flow can be renamed -----------


@pytest.mark.parametrize("which", ["export", "bundle"])
def test_export_errors_are_shown_and_exports_start_beside_the_flow(window, tmp_path, monkeypatch, which):
    from qtpy.QtWidgets import QFileDialog

    from studio.ui.main_window import documents_dir

    _three_nodes(window)
    action = window.act_export if which == "export" else window.act_export_bundle
    asked = []
    target = tmp_path / "no-such-folder" / ("out.flow.json" if which == "export" else "out.zip")
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, title, start, *a: (asked.append(start) or str(target), "")))
    action.trigger()  # an unsaved flow: the documents folder
    assert asked[-1].startswith(str(documents_dir()) + "/"), asked
    assert window.asked and window.asked[-1][0].startswith("Cannot export")
    assert str(target) in window.asked[-1][1]
    assert not target.exists()
    # a saved flow: its own folder, and a working export says so
    saved = tmp_path / "mine" / "flow.flow.json"
    saved.parent.mkdir()
    assert window._write(saved)
    target = tmp_path / ("out.flow.json" if which == "export" else "out.zip")
    window.asked.clear()
    action.trigger()
    assert asked[-1].startswith(str(saved.parent) + "/"), asked
    assert window.asked == [] and target.is_file()


def test_flow_rename_is_an_undoable_edit(window, qtbot, monkeypatch, tmp_path):
    from qtpy.QtWidgets import QInputDialog

    from studio.flow.io import load_flow

    _three_nodes(window)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Flow")
    rename = next(a for a in menu.actions() if a.text().replace("&", "").startswith("Rename flow"))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Tide report", True)))
    rename.trigger()
    assert window.document.flow.name == "Tide report"
    assert window.windowTitle().startswith("Tide report")
    path = tmp_path / "t.flow.json"
    assert window._write(path)
    assert load_flow(path).name == "Tide report"
    window.act_undo.trigger()
    assert window.document.flow.name == "Untitled flow"
    assert window.windowTitle().startswith("t.flow.json") and window.document.dirty
