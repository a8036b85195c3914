"""The property panel as a person uses it: chat messages as rows, optional inputs behind
"Add option", booleans labelled once, useful defaults, model lists of the node's kind, and the
expression editor with the last run's values."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QCheckBox, QLabel

from studio.catalog import load_catalog
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.ui.document import FlowDocument
from studio.ui.panel.expression_editor import RunData
from studio.ui.panel.models_source import ModelSource
from studio.ui.panel.property_panel import PropertyPanel
from studio.ui.panel.messages_editor import MESSAGE_ROLES
from studio.ui.panel.widgets import EditorContext, MessagesEditor

MODELS = ["gpt-4.1-mini", "gpt-4o", "gpt-3.5-turbo", "dall-e-3", "gpt-image-1", "tts-1", "gpt-4o-mini-tts",
          "whisper-1", "gpt-4o-transcribe", "text-embedding-3-small", "omni-moderation-latest"]


async def _models(_connection):
    return list(MODELS)


@pytest.fixture
def panel(qtbot):
    doc = FlowDocument(Flow())
    context = EditorContext(model_source=ModelSource(fetcher=_models))
    panel = PropertyPanel(doc, load_catalog(), context)
    qtbot.addWidget(panel)
    panel.resize(380, 800)
    panel.show()
    return panel


def _add(panel, action, name, **values):
    node = Node(action=action, name=name, values=values)
    panel.document.add_node(node)
    panel.show_node(node.id)
    return node


# 1. messages as rows ----------------------------------------------------------------------------

def test_chat_messages_are_rows_with_role_and_multiline_content(panel, qtbot):
    doc = panel.document
    node = _add(panel, "chat.create_completion", "Write")
    editor = panel.editor("messages")
    assert isinstance(editor, MessagesEditor) and not editor.json_mode()
    assert editor.stack.currentWidget() is editor.rows_page
    assert [r.role.currentData() for r in editor.rows] == ["system", "user"]
    assert editor.rows[1].content.toPlainText() == "{{ input | string }}"

    # add a row, pick its role, type several lines with an expression
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert len(editor.rows) == 3 and editor.rows[2].role.currentData() == "assistant"
    row = editor.rows[2]
    row.role.setCurrentIndex(row.role.findData("user"))
    qtbot.keyClicks(row.content, "Summarize:")
    row.content.appendPlainText("{{ nodes.Fetch.output }}")
    editor.commit()
    assert doc.node(node.id).values["messages"][-1] == {"role": "user",
                                                        "content": "Summarize:\n{{ nodes.Fetch.output }}"}
    assert panel.fields["messages"].stack.currentIndex() == 0  # rows, not the expression line

    # reorder and remove with the row buttons
    qtbot.mouseClick(editor.rows[2].up_button, Qt.MouseButton.LeftButton)
    assert [m["role"] for m in doc.node(node.id).values["messages"]] == ["system", "user", "user"]
    assert doc.node(node.id).values["messages"][1]["content"].startswith("Summarize:")
    qtbot.mouseClick(editor.rows[0].remove_button, Qt.MouseButton.LeftButton)
    assert [m["content"][:10] for m in doc.node(node.id).values["messages"]] == ["Summarize:", "{{ input |"]

    # undo shows the earlier rows again
    doc.undo_stack.undo()
    assert [r.role.currentData() for r in editor.rows] == ["system", "user", "user"]

    # values rows cannot show (content parts) are edited as JSON
    parts = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    doc.set_node_value(node.id, "messages", parts)
    assert editor.json_mode() and editor.stack.currentWidget() is editor.json_page
    assert '"type": "text"' in editor.text.toPlainText()
    editor.mode_button.setChecked(False)  # refuses: says why, stays JSON
    assert editor.json_mode() and not editor.mode_error.isHidden()


def test_showing_another_nodes_messages_refills_the_rows_and_edits_nothing(panel):
    doc = panel.document
    three = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A"},
             {"role": "assistant", "content": "B"}]
    two = [{"role": "developer-notes", "content": "x"}, {"role": "user", "content": "{{ input }}"}]
    first = _add(panel, "chat.create_completion", "First", messages=three)
    second = Node(action="chat.create_completion", name="Second", values={"messages": two})
    doc.add_node(second)
    editor = panel.editor("messages")
    shown = list(editor.rows)
    assert len(shown) == 3
    edits = doc.undo_stack.count()
    panel.show_node(second.id)
    assert editor.rows == shown[:2]  # the same row widgets, refilled
    assert [r.message() for r in editor.rows] == two  # a role not in the list is shown as it is
    assert editor.rows[0].role.count() == len(MESSAGE_ROLES) + 1
    panel.show_node(first.id)
    assert [r.message() for r in editor.rows] == three and editor.rows[:2] == shown[:2]
    assert editor.rows[0].role.count() == len(MESSAGE_ROLES)  # the other node's role is gone
    assert doc.undo_stack.count() == edits  # showing values is no edit
    assert doc.node(first.id).values["messages"] == three and doc.node(second.id).values["messages"] == two


# 2. optional inputs behind "Add option" --------------------------------------------------------


def test_optional_inputs_fold_behind_add_option(panel, qtbot):
    doc = panel.document
    node = _add(panel, "chat.create_completion", "Write")
    shown = [k for k, f in panel.fields.items() if not f.isHidden()]
    assert shown == ["connection", "model", "messages"]
    folded = panel.option_keys()
    assert "temperature" in folded and "stream" in folded and "timeout_ms" in folded
    compact = panel.widget().sizeHint().height()
    menu = panel.add_option_button.menu()
    labels = [a.text() for a in menu.actions() if a.data()]
    assert "Temperature" in labels and len(labels) == len(folded)
    assert panel.add_option_button.text() == f"Add option ({len(folded)})"

    # reveal one through its menu entry: shown with its default, nothing written
    next(a for a in menu.actions() if a.data() == "temperature").trigger()
    field = panel.fields["temperature"]
    assert not field.isHidden() and not field.remove_button.isHidden()
    assert "temperature" not in panel.option_keys() and "temperature" not in doc.node(node.id).values
    field.editor.spin.setValue(0.2)
    assert doc.node(node.id).values["temperature"] == 0.2

    # removing it resets it to the default and folds it again
    qtbot.mouseClick(field.remove_button, Qt.MouseButton.LeftButton)
    assert "temperature" not in doc.node(node.id).values
    assert field.isHidden() and "temperature" in panel.option_keys()
    assert field.editor.spin.value() == 1

    # a node with values set shows them without asking
    other = _add(panel, "chat.create_completion", "Other", max_tokens=50)
    assert not panel.fields["max_tokens"].isHidden()
    assert panel.fields["temperature"].isHidden()

    # the chat panel is no longer ~2,000 px tall
    panel.show_node(node.id)
    panel.show_all_options()
    everything = panel.widget().sizeHint().height()
    assert everything > 1500
    assert compact < 900 and compact < everything / 2
    assert other.id != node.id


# 3. booleans labelled once ----------------------------------------------------------------------

def test_booleans_are_labelled_once(panel):
    _add(panel, "chat.create_completion", "Write")
    panel.add_option("stream")
    field = panel.fields["stream"]
    [check] = field.editor.findChildren(QCheckBox)
    assert check.text() == ""
    texts = [w.text() for w in field.findChildren(QLabel) if w.text()] + [check.text()]
    assert sum(t.rstrip(" *") == "Stream" for t in texts) == 1
    assert check.isChecked()  # the default (True)
    check.setChecked(False)
    assert panel.document.node(panel.node_id).values["stream"] is False


# 4. defaults that serve a user -------------------------------------------------------------------

def test_chat_defaults_are_current_and_documented_in_help(panel):
    _add(panel, "chat.create_completion", "Write")
    assert panel.editor("model").combo.currentText() == "gpt-4.1-mini"
    messages = panel.editor("messages").value()
    assert "World Series" not in str(messages) and "world series" not in str(messages)
    model_help = panel.fields["model"].help.toolTip()
    assert "Documented default: gpt-3.5-turbo" in model_help
    assert "Documented default:" in panel.fields["messages"].help.toolTip()
    assert "Where was it played?" in panel.fields["messages"].help.toolTip()


# 5. model lists of the node's kind ---------------------------------------------------------------

@pytest.mark.parametrize("action,expected,placeholder", [
    ("chat.create_completion", {"gpt-4.1-mini", "gpt-4o", "gpt-3.5-turbo"}, "gpt-4.1-mini"),
    ("image.generate", {"dall-e-3", "gpt-image-1"}, "gpt-image-1"),
    ("audio.speech", {"tts-1", "gpt-4o-mini-tts"}, "gpt-4o-mini-tts"),
    ("audio.transcribe", {"whisper-1", "gpt-4o-transcribe"}, "gpt-4o-transcribe"),
    ("audio.translate", {"whisper-1"}, "whisper-1"),
])
def test_model_fields_list_models_of_the_nodes_kind(panel, qtbot, action, expected, placeholder):
    _add(panel, action, "N")
    editor = panel.editor("model")
    qtbot.waitUntil(lambda: bool(editor.model_ids()), timeout=5000)
    assert set(editor.model_ids()) == expected
    assert editor.combo.lineEdit().placeholderText() == placeholder


# 6. the expression editor ------------------------------------------------------------------------

def _flow_with_outputs(panel):
    doc = panel.document
    start = Node(id="t", action="trigger.manual", name="Start")
    fetch = Node(id="f", action="raw.request", name="Fetch")
    write = Node(id="w", action="chat.create_completion", name="Write")
    for n in (start, fetch, write):
        doc.add_node(n)
    doc.connect(Wire(source=Endpoint(node="t", port="output"), target=Endpoint(node="f", port="in")))
    doc.connect(Wire(source=Endpoint(node="f", port="output"), target=Endpoint(node="w", port="in")))
    outputs = {"t": {"topic": "otters"}, "f": {"data": [{"id": "gpt-4o", "owned_by": "openai"}], "count": 1}}
    panel.run_data_provider = lambda: RunData(outputs=outputs, trigger={"topic": "otters"}, run_id="r1")
    panel.show_node("w")
    return write


def test_expression_editor_resolves_completes_and_reports_errors(panel, qtbot):
    doc = panel.document
    _flow_with_outputs(panel)
    panel.add_option("user")
    field = panel.fields["user"]
    qtbot.mouseClick(field.expr_button, Qt.MouseButton.LeftButton)
    assert field.stack.currentIndex() == 1 and not field.open_editor_button.isHidden()
    qtbot.mouseClick(field.open_editor_button, Qt.MouseButton.LeftButton)
    dialog = panel.expression_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.preview_text() == '{\n  "data": [\n    {\n      "id": "gpt-4o",\n      "owned_by": "openai"\n    }\n  ],\n  "count": 1\n}'  # {{ input }}

    # several lines, live value from the last run's outputs
    dialog.editor.setPlainText("About {{ trigger.topic }}:\n{{ nodes.Fetch.output.data[0].id | upper }}")
    qtbot.waitUntil(lambda: dialog.preview_text() == "About otters:\nGPT-4O", timeout=2000)
    assert dialog.error_text() is None

    # completion of node names and their output fields
    dialog.editor.setPlainText("{{ ")
    cursor = dialog.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    dialog.editor.setTextCursor(cursor)
    qtbot.keyClicks(dialog.editor, "nodes.Fe")
    completer = dialog.editor.completer
    assert completer.completionPrefix() == "nodes.Fe"
    found = []
    for i in range(completer.completionCount()):
        completer.setCurrentRow(i)
        found.append(completer.currentCompletion())
    assert "nodes.Fetch" in found and "nodes.Fetch.output.data[0].owned_by" in found
    assert not any("Write" in f for f in found)  # not the node itself
    dialog.editor.insert_completion("nodes.Fetch.output.count")
    qtbot.keyClicks(dialog.editor, " }}")
    dialog.refresh()
    assert dialog.editor.toPlainText() == "{{ nodes.Fetch.output.count }}" and dialog.preview_text() == "1"

    # Ctrl+Space asks for completions without typing
    dialog.editor.setPlainText("{{ trig")
    dialog.editor.moveCursor(dialog.editor.textCursor().MoveOperation.End)
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert dialog.editor.toPlainText() == "{{ trig" and completer.completionPrefix() == "trig"
    assert completer.popup().isVisible() and completer.currentCompletion().startswith("trigger")

    # a bad expression says why
    dialog.editor.setPlainText("{{ nodes.Fetch.output. }}")
    dialog.refresh()
    assert dialog.error_text() and dialog.error_text().startswith("Error:")
    dialog.editor.setPlainText("{{ nodes.Nope.output }}")
    dialog.refresh()
    assert "Nope" in dialog.error_text()

    # OK writes the expression to the field
    dialog.editor.setPlainText("{{ trigger.topic }}")
    dialog.accept()
    assert doc.node("w").values["user"] == "{{ trigger.topic }}"
    assert field.expression.text() == "{{ trigger.topic }}"


def test_expression_editor_reads_the_main_windows_last_run(window, qtbot):
    doc = window.document
    start = Node(id="t", action="trigger.manual", name="Start")
    write = Node(id="w", action="chat.create_completion", name="Write")
    doc.add_node(start)
    doc.add_node(write)
    doc.connect(Wire(source=Endpoint(node="t", port="output"), target=Endpoint(node="w", port="in")))
    window.runs.last_outputs["t"] = {"topic": "tides"}
    window.canvas.select(["w"])
    assert window.panel.node_id == "w"
    field = window.panel.fields["model"]
    field.expr_button.setChecked(True)
    dialog = field.open_expression_editor()
    dialog.editor.setPlainText("{{ input.topic }} and {{ nodes.Start.output.topic }}")
    dialog.refresh()
    assert dialog.preview_text() == "tides and tides"
    dialog.reject()
