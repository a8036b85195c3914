"""One input in the property panel: its label row (with the expression toggle), the editor for
its ValueType, the help text and an inline error line. Built once per action and refilled for each
node of that action (`reset`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from studio.catalog.models import Input

from .expression_editor import ExpressionEditorDialog
from .widgets import EditorContext, ValueEditor, create_editor

if TYPE_CHECKING:  # pragma: no cover
    from .property_panel import PropertyPanel

EXPR = re.compile(r"\{\{.*\}\}", re.S)
DESCRIPTION_CHARS = 180


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and bool(EXPR.search(value))


class Field(QWidget):
    """One input: label row (with the expression toggle), the editor, help, inline error."""

    def __init__(self, panel: "PropertyPanel", spec: Input, context: EditorContext) -> None:
        super().__init__()
        self.panel = panel
        self.spec = spec
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(3)
        top = QHBoxLayout()
        self.label = QLabel(spec.label + (" *" if spec.required else ""))
        font = self.label.font()
        font.setBold(True)
        self.label.setFont(font)
        if spec.required:
            self.label.setToolTip("Required")
        self.expr_button = QToolButton()
        self.expr_button.setText("{{ }}")
        self.expr_button.setCheckable(True)
        self.expr_button.setToolTip("Use an expression: read the trigger or an upstream node's output")
        self.expr_button.toggled.connect(self._toggle_expression)
        # Optional inputs revealed through "Add option" can be removed again (back to the default).
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip("Remove this option: it goes back to its default")
        self.remove_button.clicked.connect(lambda: panel.remove_option(spec.key))
        self.remove_button.setVisible(False)
        top.addWidget(self.label, 1)
        top.addWidget(self.expr_button)
        top.addWidget(self.remove_button)
        layout.addLayout(top)

        self.stack = QStackedWidget()
        self.editor: ValueEditor = create_editor(spec, context, action_id=panel.action.id if panel.action else None)
        self.editor.edited.connect(self._edited)
        self.expression_page = QWidget()
        row = QHBoxLayout(self.expression_page)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.expression = QLineEdit()
        self.expression.setPlaceholderText("{{ nodes.Name.output }}")
        self.expression.editingFinished.connect(self._expression_edited)
        self.open_editor_button = QToolButton()
        self.open_editor_button.setText("⤢")
        self.open_editor_button.setToolTip("Open the expression editor: several lines, the resolved value of "
                                           "the last run, completion of node names and fields")
        self.open_editor_button.clicked.connect(lambda: self.open_expression_editor())
        row.addWidget(self.expression, 1)
        row.addWidget(self.open_editor_button)
        self.stack.addWidget(self.editor)
        self.stack.addWidget(self.expression_page)
        self.stack.setCurrentIndex(0)
        layout.addWidget(self.stack)

        tip = spec.description or spec.label
        if spec.aliases:
            tip += "\n\nAlso called: " + ", ".join(spec.aliases)
        if spec.default is not None:
            tip += f"\n\nDefault: {spec.default!r}"
        for widget in (self.label, self.editor, self.expression):
            widget.setToolTip(tip)
        if spec.description:
            text = spec.description if len(spec.description) <= DESCRIPTION_CHARS else spec.description[:DESCRIPTION_CHARS - 1] + "…"
            self.help = QLabel(text)
            self.help.setWordWrap(True)
            self.help.setProperty("role", "muted")
            self.help.setToolTip(tip)
            layout.addWidget(self.help)
        if spec.port:
            note = QLabel(f"Can also come from a wire into this node's '{spec.key}' port.")
            note.setProperty("role", "muted")
            note.setWordWrap(True)
            layout.addWidget(note)
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self._loading = False

    # the value shown ---------------------------------------------------------------------------

    def show_value(self, value: Any) -> None:
        self._loading = True
        try:
            expr = is_expression(value)
            self.expr_button.setChecked(expr)
            self.stack.setCurrentIndex(1 if expr else 0)
            if expr:
                if not self.expression.hasFocus():
                    self.expression.setText(value)
            elif not self.editor.has_pending_edit():
                self.editor.set_value(value)
        finally:
            self._loading = False

    def reset(self, value: Any) -> None:
        """Show another node's `value`: nothing of the node shown before stays (a typed expression,
        an error, an edit not yet written)."""
        self._loading = True
        try:
            self.expression.setText(value if is_expression(value) else "")
        finally:
            self._loading = False
        self.set_error(None)
        self.show_value(value)

    def set_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def error_text(self) -> str | None:
        return self.error.text() if not self.error.isHidden() else None

    # edits ---------------------------------------------------------------------------------------

    def _edited(self, value: Any) -> None:
        if not self._loading:
            self.panel.write(self.spec.key, value)

    def _expression_edited(self) -> None:
        if not self._loading and self.expr_button.isChecked():
            text = self.expression.text().strip()
            self.panel.write(self.spec.key, text or None)

    def open_expression_editor(self) -> ExpressionEditorDialog:
        """The multi-line expression editor for this field (non-blocking; OK writes the value)."""
        current = self.panel.current_value(self.spec.key)
        if self.expr_button.isChecked() and self.expression.text().strip():
            text = self.expression.text()
        else:
            text = current if is_expression(current) else "{{ input }}"
        dialog = ExpressionEditorDialog(self.panel.document, self.panel.node_id, self.spec.label, text,
                                        self.panel.run_data(), self)
        dialog.accepted.connect(lambda: self._expression_from_dialog(dialog.text()))
        dialog.finished.connect(dialog.deleteLater)
        self.panel.expression_dialog = dialog
        dialog.open()
        return dialog

    def _expression_from_dialog(self, text: str) -> None:
        self.panel.write(self.spec.key, text or None)
        self.show_value(self.panel.current_value(self.spec.key))

    def _toggle_expression(self, on: bool) -> None:
        if self._loading:
            return
        self.stack.setCurrentIndex(1 if on else 0)
        if on:
            self.expression.setCompleter(self.panel.completer())
            self.expression.setFocus()
            current = self.panel.current_value(self.spec.key)
            if not is_expression(current):
                self.expression.setText("{{ input }}")
                self.panel.write(self.spec.key, "{{ input }}")
        else:
            self.panel.write(self.spec.key, None)  # back to the documented default
