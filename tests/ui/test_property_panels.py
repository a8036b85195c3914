"""Property panels are generated from the catalog: every action's panel has one editor per input
showing the documented default, and edits become undoable document edits."""

import pytest
from qtpy.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QPlainTextEdit, QSpinBox

from studio.catalog import load_catalog
from studio.catalog.models import ValueType
from studio.flow.models import Flow, Node
from studio.ui.document import FlowDocument
from studio.ui.panel.models_source import ModelSource
from studio.ui.panel.property_panel import PropertyPanel
from studio.ui.panel.widgets import EditorContext, editor_class


async def _models(_connection):
    return ["gpt-4o-mini", "gpt-4.1"]


@pytest.fixture
def panel(qtbot):
    doc = FlowDocument(Flow())
    context = EditorContext(model_source=ModelSource(fetcher=_models))
    panel = PropertyPanel(doc, load_catalog(), context)
    qtbot.addWidget(panel)
    return panel


def _shown(editor):
    """What the editor's widget displays, read from the Qt widget itself."""
    for w in [editor] + editor.findChildren(object):
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            return w.value()
        if isinstance(w, QComboBox):
            return w.currentData() if not w.isEditable() else w.currentText()
        if isinstance(w, QPlainTextEdit):
            return w.toPlainText()
        if isinstance(w, QLineEdit):
            return w.text()
    return editor.value()


def test_every_action_gets_an_editor_per_input_with_the_documented_default(panel):
    catalog = load_catalog()
    doc = panel.document
    checked = 0
    for action in catalog.actions:
        node = Node(action=action.id, name=doc.unique_name(action.title.replace("Agent: ", "")))
        doc.add_node(node)
        panel.show_node(node.id)
        assert set(panel.fields) == {i.key for i in action.inputs}, action.id
        for spec in action.inputs:
            editor = panel.editor(spec.key)
            assert isinstance(editor, editor_class(spec)), (action.id, spec.key)
            assert panel.fields[spec.key].label.text().endswith(" *") == spec.required
            if spec.default is None:
                continue
            assert editor.value() == spec.default, (action.id, spec.key)
            shown = _shown(editor)
            if spec.type in (ValueType.STRING, ValueType.MODEL, ValueType.FILE):
                assert shown == str(spec.default), (action.id, spec.key)
            elif spec.type in (ValueType.INTEGER, ValueType.NUMBER, ValueType.BOOLEAN, ValueType.ENUM):
                assert shown == spec.default, (action.id, spec.key)
            checked += 1
        assert doc.node(node.id).values == {}  # showing defaults writes nothing
    assert checked > 40  # the catalog documents many defaults; all were looked at


def test_documented_examples(panel):
    doc = panel.document
    node = Node(action="raw.request", name="Raw")
    doc.add_node(node)
    panel.show_node(node.id)
    assert panel.editor("url").line.text() == "/v1/models"
    for action_id, key, shown in (("chat.create_completion", "timeout_ms", 0), ("agent.run", "max_turns", 10)):
        other = Node(action=action_id, name=doc.unique_name("N"))
        doc.add_node(other)
        panel.show_node(other.id)
        assert panel.editor(key).spin.value() == shown
    tool = Node(action="agent.create_image_generation_tool", name="Img")
    doc.add_node(tool)
    panel.show_node(tool.id)
    assert panel.editor("model").combo.currentText() == "gpt-image-1"


def test_edit_fields_change_the_document_and_undo(panel, qtbot):
    doc = panel.document
    node = Node(action="chat.create_completion", name="Write")
    doc.add_node(node)
    panel.show_node(node.id)
    spec = next(i for i in panel.action.inputs if i.type is ValueType.NUMBER and i.maximum is not None)
    editor = panel.editor(spec.key)
    editor.spin.setValue(spec.maximum)
    assert doc.node(node.id).values[spec.key] == spec.maximum
    model = panel.editor("model")
    model.combo.setEditText("gpt-4.1")
    model.commit()
    assert doc.node(node.id).values["model"] == "gpt-4.1"
    doc.undo_stack.undo()
    assert "model" not in doc.node(node.id).values
    assert model.value() in (None, load_catalog().get("chat.create_completion").input("model").default)
    doc.undo_stack.undo()
    assert spec.key not in doc.node(node.id).values
    assert editor.spin.value() == (spec.default if spec.default is not None else editor.spin.minimum())
    doc.undo_stack.redo()
    assert doc.node(node.id).values[spec.key] == spec.maximum
    assert editor.spin.value() == spec.maximum


def test_expression_toggle_and_inline_errors(panel):
    doc = panel.document
    node = Node(action="chat.create_completion", name="Write")
    doc.add_node(node)
    panel.show_node(node.id)
    field = panel.fields["model"]
    field.expr_button.setChecked(True)
    assert doc.node(node.id).values["model"] == "{{ input }}"
    field.expression.setText("{{ trigger.model }}")
    field.expression.editingFinished.emit()
    assert doc.node(node.id).values["model"] == "{{ trigger.model }}"
    field.expr_button.setChecked(False)
    assert "model" not in doc.node(node.id).values
    # a required field with no value and no default says so inline
    required = [i for i in panel.action.inputs if i.required and i.default is None and not i.port]
    if required:
        panel.validate()
        assert panel.fields[required[0].key].error_text()
    # a bad name is refused with a message, a good one renamed (undoably)
    panel.name_edit.setText("1 bad")
    panel._rename()
    assert doc.node(node.id).name == "Write" and not panel.name_error.isHidden()
    panel.name_edit.setText("Writer")
    panel._rename()
    assert doc.node(node.id).name == "Writer"
