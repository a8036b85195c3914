"""A chat conversation edited as rows (role and content), with a JSON view for what rows cannot show."""

from __future__ import annotations

from typing import Any, Callable

from qtpy.QtWidgets import (
    QFrame,
    QStackedWidget,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.models import Input, ValueType


from .value_editors import ERROR_STYLE, EditorContext, JsonEditor, ValueEditor, _FlushingPlainTextEdit, json_error


MESSAGE_ROLES = ["system", "developer", "user", "assistant"]


def message_rows(value: Any) -> list[tuple[str, str]] | None:
    """`value` as (role, content) rows, or None when it holds more than rows can show (content
    parts such as images, tool calls, names): such a value is edited as JSON."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    rows = []
    for message in value:
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            return None
        role, content = message.get("role", "user"), message.get("content", "")
        if not isinstance(role, str) or not isinstance(content, (str, type(None))):
            return None
        rows.append((role, content or ""))
    return rows


class MessageRow(QFrame):
    """One message: its role, its multi-line content (expressions allowed), and move/remove."""

    MIN_LINES = 2
    MAX_LINES = 10

    def __init__(self, owner: "MessagesEditor", role: str, content: str) -> None:
        super().__init__()
        self.owner = owner
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(2)
        self.role = QComboBox()
        self.role.setToolTip("Who says this message")
        for name in MESSAGE_ROLES:
            self.role.addItem(name, name)
        self.up_button = self._button("↑", "Move up", lambda: owner.move_row(self, -1))
        self.down_button = self._button("↓", "Move down", lambda: owner.move_row(self, 1))
        self.remove_button = self._button("✕", "Remove this message", lambda: owner.remove_row(self))
        top.addWidget(self.role)
        top.addStretch(1)
        for button in (self.up_button, self.down_button, self.remove_button):
            top.addWidget(button)
        self.content = _FlushingPlainTextEdit(owner._flush)
        self.content.setPlaceholderText("Message text; {{ expressions }} are allowed, e.g. {{ input }}")
        self.content.setTabChangesFocus(True)
        self.refill(role, content)  # before the signals are connected: showing is no edit
        self.role.currentIndexChanged.connect(lambda _i: owner._row_changed())
        self.content.textChanged.connect(self._fit)
        self.content.textChanged.connect(owner._typed)
        layout.addLayout(top)
        layout.addWidget(self.content)
        self._fit()

    def refill(self, role: str, content: str) -> None:
        """Show this message in the row: when it is made, and when the panel shows another node
        (the row is reused: no widgets made)."""
        while self.role.count() > len(MESSAGE_ROLES):  # a role of the row's last message not in the list
            self.role.removeItem(self.role.count() - 1)
        if role not in MESSAGE_ROLES:
            self.role.addItem(role, role)
        self.role.setCurrentIndex(self.role.findData(role))
        if self.content.toPlainText() != content:
            self.content.setPlainText(content)

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def _fit(self) -> None:
        """As tall as its text (2 to 10 lines), so short messages stay short."""
        lines = max(self.content.document().lineCount(), self.content.blockCount())
        lines = min(max(lines, self.MIN_LINES), self.MAX_LINES)
        height = lines * self.content.fontMetrics().lineSpacing() + 12
        if self.content.height() != height:
            self.content.setFixedHeight(height)

    def message(self) -> dict[str, Any]:
        return {"role": self.role.currentData() or "user", "content": self.content.toPlainText()}


class MessagesEditor(JsonEditor):
    """A conversation edited as rows (role + content, add/remove/reorder) instead of raw JSON;
    "Edit as JSON" switches to the JSON text (always used for values rows cannot show)."""

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        self.rows: list[MessageRow] = []
        self._json_mode = False
        super().__init__(spec, context, parent)
        self._layout.removeWidget(self.json_page)
        self.rows_page = QWidget()
        self.rows_layout = QVBoxLayout(self.rows_page)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(4)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.rows_page)
        self.stack.addWidget(self.json_page)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add message")
        self.add_button.clicked.connect(lambda: self.add_row())
        self.mode_button = QToolButton()
        self.mode_button.setText("Edit as JSON")
        self.mode_button.setCheckable(True)
        self.mode_button.setToolTip("Edit the messages as a JSON list instead of rows")
        self.mode_button.toggled.connect(self.set_json_mode)
        self.mode_error = QLabel()
        self.mode_error.setStyleSheet(ERROR_STYLE)
        self.mode_error.setWordWrap(True)
        self.mode_error.hide()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.mode_button)
        outer = QVBoxLayout()
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addWidget(self.stack)
        outer.addLayout(buttons)
        outer.addWidget(self.mode_error)
        self._layout.addLayout(outer)

    # rows ---------------------------------------------------------------------------------------

    def add_row(self, role: str | None = None, content: str = "") -> MessageRow:
        if role is None:  # the turn after the last one
            last = self.rows[-1].message()["role"] if self.rows else "assistant"
            role = "assistant" if last == "user" else "user"
        row = self._append(role, content)
        self._changed()
        row.content.setFocus()
        return row

    def remove_row(self, row: MessageRow) -> None:
        self.rows.remove(row)
        self.rows_layout.removeWidget(row)
        row.deleteLater()
        self._changed()

    def move_row(self, row: MessageRow, step: int) -> None:
        index = self.rows.index(row)
        target = index + step
        if not 0 <= target < len(self.rows):
            return
        self.rows.insert(target, self.rows.pop(index))
        self.rows_layout.removeWidget(row)
        self.rows_layout.insertWidget(target, row)
        self._changed()

    def _append(self, role: str, content: str) -> MessageRow:
        row = MessageRow(self, role, content)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        return row

    def _row_changed(self) -> None:
        self._changed()

    def messages(self) -> list[dict[str, Any]]:
        return [row.message() for row in self.rows]

    # modes --------------------------------------------------------------------------------------

    def json_mode(self) -> bool:
        return self._json_mode

    def set_json_mode(self, on: bool) -> None:
        if on == self._json_mode:
            return
        if not on:
            rows = message_rows(JsonEditor.value(self))
            if json_error(self.text.toPlainText()) or rows is None:
                self.mode_error.setText("These messages cannot be shown as rows (fix the JSON, or keep only "
                                        "role and text content); keep editing them as JSON.")
                self.mode_error.show()
                self.mode_button.blockSignals(True)
                self.mode_button.setChecked(True)
                self.mode_button.blockSignals(False)
                return
        self.mode_error.hide()
        value = self.value()
        self._json_mode = on
        self._loading = True
        try:
            self._show(value)
        finally:
            self._loading = False

    # the editor interface -----------------------------------------------------------------------

    def value(self) -> Any:
        if self._json_mode:
            return super().value()
        messages = self.messages()
        # An input without a default is left unset by removing every row.
        return messages if messages or self.spec.default is not None else None

    def commit(self) -> None:
        if self._json_mode:
            super().commit()
        else:
            ValueEditor.commit(self)

    def set_value(self, value: Any) -> None:
        if self._json_mode:
            super().set_value(value)
        else:
            ValueEditor.set_value(self, value)

    def _show(self, value: Any) -> None:
        rows = message_rows(value)
        if rows is None:
            self._json_mode = True
        self.mode_button.blockSignals(True)
        self.mode_button.setChecked(self._json_mode)
        self.mode_button.blockSignals(False)
        self.add_button.setVisible(not self._json_mode)
        if self._json_mode:
            self.stack.setCurrentWidget(self.json_page)
            super()._show(value)
            return
        self.stack.setCurrentWidget(self.rows_page)
        rows = rows or []
        for row, (role, content) in zip(self.rows, rows):  # the rows shown already, refilled
            row.refill(role, content)
        for row in self.rows[len(rows):]:
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        del self.rows[len(rows):]
        for role, content in rows[len(self.rows):]:
            self._append(role, content)


def is_messages_input(spec: Input) -> bool:
    """A chat conversation: the JSON input named `messages` (chat completion, vision, threads)."""
    return spec.type is ValueType.JSON and spec.key == "messages"
