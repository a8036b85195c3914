"""One editor widget per catalog ValueType. The property panel never knows about individual
actions: it asks `create_editor(input)` for each declared input and talks to every editor through
the same small interface (`set_value`, `value`, the `edited` signal)."""

from __future__ import annotations

from qtpy.QtWidgets import QWidget

from studio.catalog.models import Input, ValueType

from .connection_editors import ConnectionEditor, ModelEditor
from .list_editors import FileEditor, KeyValueEditor, StringListEditor
from .messages_editor import MessagesEditor, is_messages_input  # noqa: F401 - part of this module's API
from .models_source import model_kind
from .value_editors import (  # noqa: F401 - the shared interface is part of this module's API
    BooleanEditor,
    EditorContext,
    EnumEditor,
    IntegerEditor,
    JsonEditor,
    NumberEditor,
    StringEditor,
    TextEditor,
    ValueEditor,
    simulated_connection_name,
)

EDITORS: dict[ValueType, type[ValueEditor]] = {
    ValueType.STRING: StringEditor,
    ValueType.TEXT: TextEditor,
    ValueType.JSON: JsonEditor,
    ValueType.NUMBER: NumberEditor,
    ValueType.INTEGER: IntegerEditor,
    ValueType.BOOLEAN: BooleanEditor,
    ValueType.ENUM: EnumEditor,
    ValueType.KEY_VALUE: KeyValueEditor,
    ValueType.STRING_LIST: StringListEditor,
    ValueType.FILE: FileEditor,
    ValueType.CONNECTION: ConnectionEditor,
    ValueType.MODEL: ModelEditor,
}


def editor_class(spec: Input) -> type[ValueEditor]:
    """The editor for one declared input: chosen by its ValueType, and for JSON by its shape."""
    if is_messages_input(spec):
        return MessagesEditor
    return EDITORS[spec.type]


def create_editor(spec: Input, context: EditorContext, parent: QWidget | None = None,
                  action_id: str | None = None) -> ValueEditor:
    editor = editor_class(spec)(spec, context, parent)
    if isinstance(editor, ModelEditor):
        editor.set_kind(model_kind(action_id))
    return editor
