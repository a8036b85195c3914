"""The property panel builds one page per action and refills it for each node of that action:
selecting another node shows that node's values, settings, expressions, errors, folded options
and model list, and edits stay with the node they were made on (undo included)."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt

from studio.catalog import load_catalog
from studio.flow.models import Flow, Node, RetryPolicy
from studio.ui.document import FlowDocument
from studio.ui.panel.models_source import ModelSource
from studio.ui.panel.property_panel import PropertyPanel
from studio.ui.panel.widgets import EditorContext

MODELS = {"work": ["gpt-4o", "gpt-4.1-mini"], "home": ["gpt-3.5-turbo"], "": ["gpt-4o-mini"]}


async def _models(connection):
    return list(MODELS.get(connection or "", []))


@pytest.fixture
def panel(qtbot):
    doc = FlowDocument(Flow())
    context = EditorContext(model_source=ModelSource(fetcher=_models), connection_names=lambda: ["work", "home"])
    panel = PropertyPanel(doc, load_catalog(), context)
    qtbot.addWidget(panel)
    panel.resize(380, 800)
    panel.show()
    return panel


def _node(panel, name, action="chat.create_completion", **fields):
    node = Node(action=action, name=name, **fields)
    panel.document.add_node(node)
    return node


def _type(qtbot, editor, text):
    editor.line.clear()
    qtbot.keyClicks(editor.line, text)
    editor.commit()


def test_selecting_another_node_of_the_action_refills_the_same_page(panel, qtbot):
    doc = panel.document
    a = _node(panel, "Alpha", values={"user": "alice", "max_tokens": 50, "temperature": "{{ input.t }}"})
    b = _node(panel, "Beta", values={"user": "bob"}, on_error="continue", disabled=True,
              retry=RetryPolicy(max_tries=3))
    panel.show_node(a.id)
    page = panel.widget()
    assert panel.fields["temperature"].expr_button.isChecked()
    assert panel.fields["temperature"].expression.text() == "{{ input.t }}"
    _type(qtbot, panel.editor("user"), "alice edited")
    assert doc.node(a.id).values["user"] == "alice edited"

    panel.show_node(b.id)
    assert panel.widget() is page  # refilled, not rebuilt
    assert panel.name_edit.text() == "Beta"
    assert panel.editor("user").value() == "bob"
    temperature = panel.fields["temperature"]
    assert not temperature.expr_button.isChecked() and temperature.stack.currentIndex() == 0
    assert temperature.expression.text() == ""
    assert panel.fields["max_tokens"].isHidden() and "max_tokens" in panel.option_keys()
    assert panel.on_error_combo.currentData() == "continue"
    assert panel.retry_spin.value() == 3 and panel.disabled_check.isChecked()
    assert doc.node(b.id).values == {"user": "bob"}  # showing B wrote nothing
    assert doc.node(a.id).values["user"] == "alice edited"

    _type(qtbot, panel.editor("user"), "bob edited")
    assert doc.node(b.id).values["user"] == "bob edited"
    assert doc.node(a.id).values["user"] == "alice edited"

    panel.show_node(a.id)
    assert panel.name_edit.text() == "Alpha"
    assert panel.editor("user").value() == "alice edited"
    assert panel.fields["temperature"].expr_button.isChecked()
    assert not panel.fields["max_tokens"].isHidden() and panel.editor("max_tokens").value() == 50
    assert panel.on_error_combo.currentData() == "stop"
    assert panel.retry_spin.value() == 1 and not panel.disabled_check.isChecked()

    # undo goes back one edit at a time, each on its own node, whichever node is shown
    doc.undo_stack.undo()
    assert doc.node(b.id).values["user"] == "bob"
    assert panel.editor("user").value() == "alice edited"
    doc.undo_stack.undo()
    assert doc.node(a.id).values["user"] == "alice"
    assert panel.editor("user").value() == "alice"
    panel.show_node(b.id)
    assert panel.editor("user").value() == "bob"


def test_a_settings_edit_on_the_refilled_page_goes_to_the_node_shown(panel, qtbot):
    doc = panel.document
    a = _node(panel, "Alpha")
    b = _node(panel, "Beta")
    panel.show_node(a.id)
    panel.on_error_combo.setCurrentIndex(panel.on_error_combo.findData("route"))
    panel.show_node(b.id)
    assert panel.on_error_combo.currentData() == "stop"
    panel.retry_spin.setValue(4)
    panel.name_edit.setText("Gamma")
    panel.name_edit.editingFinished.emit()
    assert doc.node(a.id).on_error == "route" and doc.node(a.id).retry.max_tries == 1
    assert doc.node(b.id).on_error == "stop" and doc.node(b.id).retry.max_tries == 4
    assert [n.name for n in doc.flow.nodes] == ["Alpha", "Gamma"]
    doc.undo_stack.undo()
    assert doc.node(b.id).name == "Beta" and panel.name_edit.text() == "Beta"


def test_errors_and_revealed_options_belong_to_their_node(panel, qtbot):
    a = _node(panel, "Alpha", values={"temperature": 99})
    b = _node(panel, "Beta")
    panel.show_node(a.id)
    assert "at most 2" in panel.fields["temperature"].error_text()
    panel.add_option("top_p")
    assert not panel.fields["top_p"].isHidden()

    panel.show_node(b.id)
    assert panel.fields["temperature"].error_text() is None
    assert panel.fields["temperature"].isHidden() and panel.fields["top_p"].isHidden()

    panel.show_node(a.id)
    assert "at most 2" in panel.fields["temperature"].error_text()
    assert not panel.fields["top_p"].isHidden()  # still revealed on A


def test_the_model_list_follows_the_connection_of_the_node_shown(panel, qtbot):
    a = _node(panel, "Alpha", values={"connection": "work", "model": "gpt-4o"})
    b = _node(panel, "Beta", values={"connection": "home", "model": "gpt-3.5-turbo"})
    c = _node(panel, "Gamma", values={"connection": "elsewhere"})
    panel.show_node(a.id)
    model = panel.editor("model")
    qtbot.waitUntil(lambda: sorted(model.model_ids()) == sorted(MODELS["work"]), timeout=5_000)
    panel.show_node(b.id)
    assert panel.editor("model") is model
    qtbot.waitUntil(lambda: sorted(model.model_ids()) == MODELS["home"], timeout=5_000)
    assert model.value() == "gpt-3.5-turbo" and panel.editor("connection").value() == "home"

    panel.show_node(c.id)
    assert "elsewhere" in panel.editor("connection").names()
    panel.show_node(a.id)
    assert "elsewhere" not in panel.editor("connection").names()  # C's unknown name left with C
    qtbot.waitUntil(lambda: sorted(model.model_ids()) == sorted(MODELS["work"]), timeout=5_000)
    assert model.value() == "gpt-4o"


def test_a_node_of_another_action_gets_its_own_page(panel, qtbot):
    a = _node(panel, "Alpha")
    image = _node(panel, "Picture", action="image.generate")
    panel.show_node(a.id)
    chat_page = panel.widget()
    panel.show_node(image.id)
    assert panel.widget() is not chat_page and "messages" not in panel.fields
    panel.show_node(None)
    panel.show_node(a.id)
    assert panel.widget() is chat_page and panel.name_edit.text() == "Alpha"
    qtbot.mouseClick(panel.disabled_check, Qt.MouseButton.LeftButton)
    assert panel.document.node(a.id).disabled


def test_an_open_expression_editor_closes_when_another_node_is_shown(panel, qtbot):
    doc = panel.document
    a = _node(panel, "Alpha")
    b = _node(panel, "Beta")
    panel.show_node(a.id)
    dialog = panel.fields["user"].open_expression_editor()
    assert dialog.isVisible()
    panel.show_node(b.id)
    assert not dialog.isVisible()
    assert "user" not in doc.node(a.id).values and "user" not in doc.node(b.id).values
