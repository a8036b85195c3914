"""The Manual trigger's input form: one typed field per input the user declared on the trigger
(`Input Fields`: name/key, label, type string|text|number|integer|boolean|json, default). Fields
start from the flow's saved example (`settings.example_inputs`, what export bundles carry), else
the declared default; the values typed here are the payload of the next editor run."""

from __future__ import annotations

import json
from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QSpinBox, QWidget,
)

from studio.engine.builtin import declared_fields
from studio.flow.models import Flow, Node

NUMBER_LIMIT = 1e12


def manual_trigger(flow: Flow) -> Node | None:
    return next((n for n in flow.nodes if n.action == "trigger.manual" and not n.disabled), None)


class RunInputsForm(QWidget):
    """Typed editors for the Manual trigger's fields; `payload()` is what a run receives."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(4, 4, 4, 4)
        self.editors: dict[str, tuple[str, QWidget]] = {}
        self.errors: dict[str, str] = {}
        self._signature: tuple[str, str] | None = None  # the flow and fields the form shows

    def set_flow(self, flow: Flow) -> None:
        """Show the flow's fields; typed values survive unrelated edits (same fields, same flow)."""
        trigger = manual_trigger(flow)
        fields = declared_fields(trigger.values) if trigger is not None else []
        signature = (flow.id, json.dumps(fields, sort_keys=True, default=str))
        if signature == self._signature:
            return
        self._signature = signature
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors.clear()
        self.errors.clear()
        saved = flow.settings.get("example_inputs") if isinstance(flow.settings.get("example_inputs"), dict) else {}
        if not fields:
            self.form.addRow(QLabel("This flow's trigger declares no inputs."))
            return
        for field in fields:
            name = field["name"]
            kind = str(field.get("type") or "string").lower()
            value = saved.get(name, field.get("default", field.get("value")))  # as the engine reads it
            editor = self._editor(kind, value)
            label = QLabel(str(field.get("label") or name))
            if field.get("description"):
                label.setToolTip(str(field["description"]))
                editor.setToolTip(str(field["description"]))
            self.form.addRow(label, editor)
            self.editors[name] = (kind, editor)

    def _editor(self, kind: str, value: Any) -> QWidget:
        if kind == "boolean":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(self.changed)
            return box
        if kind == "integer":
            spin = QSpinBox()
            spin.setRange(-2_147_483_647, 2_147_483_647)
            spin.setValue(int(value) if isinstance(value, (int, float)) else 0)
            spin.valueChanged.connect(self.changed)
            return spin
        if kind == "number":
            spin = QDoubleSpinBox()
            spin.setRange(-NUMBER_LIMIT, NUMBER_LIMIT)
            spin.setDecimals(6)
            spin.setValue(float(value) if isinstance(value, (int, float)) else 0.0)
            spin.valueChanged.connect(self.changed)
            return spin
        if kind in ("json", "text"):
            edit = QPlainTextEdit()
            edit.setFixedHeight(60)
            if value is not None:
                edit.setPlainText(value if isinstance(value, str) and kind == "text" else json.dumps(value, indent=2))
            edit.textChanged.connect(self.changed)
            return edit
        line = QLineEdit("" if value is None else str(value))
        line.textChanged.connect(self.changed)
        return line

    def payload(self) -> dict[str, Any]:
        """The typed values; a JSON field that does not parse is reported in `errors` and left out."""
        values: dict[str, Any] = {}
        self.errors.clear()
        for name, (kind, editor) in self.editors.items():
            if isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                values[name] = editor.value()
            elif isinstance(editor, QPlainTextEdit):
                text = editor.toPlainText()
                if kind == "text":
                    values[name] = text
                elif text.strip():
                    try:
                        values[name] = json.loads(text)
                    except json.JSONDecodeError as exc:
                        self.errors[name] = f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno})"
            else:
                values[name] = editor.text()
        return values
