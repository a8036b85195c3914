"""The expression editor: a multi-line editor for one field's expression that shows what it
resolves to with the last run's (or the pinned) outputs, completes node names and their output
fields, and says clearly why an expression cannot be read.

The run data comes from a `RunData` the panel gets from its provider; the engine's own
`render` with a `Scope` like the executor's does the resolving, so the preview is what a run
would send."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from qtpy.QtCore import QStringListModel, Qt, QTimer
from qtpy.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from studio.engine.expressions import ExpressionError, MissingValueError, NodeEntry, Scope, render

from ..document import FlowDocument

PREVIEW_CHARS = 4000
MAX_PATH_DEPTH = 4
MAX_KEYS_PER_LEVEL = 40
FILTERS = ["json", "length", "default('')", "string", "upper", "lower", "trim", "number", "first", "last",
           "join(', ')", "keys"]
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The path being typed: letters, digits, dots, brackets and quotes back to the last space or `{`.
PREFIX = re.compile(r"(?:nodes\[\"[^\"]*\"?\]?)?[\w.\[\]\"]*$")


@dataclass
class RunData:
    """What the last run (or the pins) left: outputs by node id, the trigger value, the run id."""

    outputs: Mapping[str, Any] = field(default_factory=dict)
    trigger: Any = None
    run_id: str | None = None


RunDataProvider = Callable[[], "RunData | None"]


def _ref(name: str) -> str:
    return f"nodes.{name}" if IDENT.match(name) else f'nodes["{name}"]'


def _key_step(key: Any) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    return f".{key}" if IDENT.match(str(key)) else f'["{key}"]'


def node_input(document: FlowDocument, node_id: str, outputs: Mapping[str, Any]) -> Any:
    """The value on the node's `in` port, as the executor computes it from the wires."""
    values = [outputs[w.source.node] for w in document.flow.incoming(node_id)
              if w.target.port == "in" and w.source.node in outputs]
    return values[0] if len(values) == 1 else (values or None)


def build_scope(document: FlowDocument, node_id: str | None, data: RunData | None) -> Scope:
    """The scope an expression of `node_id` would see, built from the last run's outputs."""
    data = data or RunData()
    outputs = data.outputs or {}
    nodes: dict[str, Any] = {}
    trigger = data.trigger
    for node in document.flow.nodes:
        if node.id in outputs:
            nodes[node.name] = NodeEntry(node.name, {"status": "succeeded", "error": None,
                                                     "output": outputs[node.id]})
        else:  # known, but without an output to show yet
            nodes[node.name] = NodeEntry(node.name, {"status": "not run", "error": None})
    if trigger is None:
        trigger_node = next((n for n in document.flow.nodes if n.action.startswith("trigger.")), None)
        if trigger_node is not None:
            trigger = outputs.get(trigger_node.id)
    flow = document.flow
    run = {"id": data.run_id or "", "flow_id": flow.id, "flow_name": flow.name}
    upstream = node_input(document, node_id, outputs) if node_id else None
    return Scope(trigger=trigger, nodes=nodes, input=upstream, run=run)


def _paths(root: str, value: Any, depth: int = 0) -> list[str]:
    out = [root]
    if depth >= MAX_PATH_DEPTH:
        return out
    if isinstance(value, dict):
        for key in list(value)[:MAX_KEYS_PER_LEVEL]:
            out += _paths(root + _key_step(key), value[key], depth + 1)
    elif isinstance(value, list) and value:
        out += _paths(root + "[0]", value[0], depth + 1)
    return out


def completion_words(document: FlowDocument, node_id: str | None, data: RunData | None) -> list[str]:
    """Node names, their output fields (from the last run's outputs), trigger/input/run fields."""
    scope = build_scope(document, node_id, data)
    words: list[str] = []
    outputs = (data.outputs if data else None) or {}
    for node in document.flow.nodes:
        if node.id == node_id:
            continue
        ref = _ref(node.name)
        words += [ref, f"{ref}.status", f"{ref}.error"]
        words += _paths(f"{ref}.output", outputs.get(node.id)) if node.id in outputs else [f"{ref}.output"]
    words += _paths("trigger", scope.trigger) + _paths("input", scope.input)
    words += ["run.id", "run.flow_id", "run.flow_name"]
    seen: set[str] = set()
    return [w for w in words if not (w in seen or seen.add(w))]


def describe(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "\n… (cut)"


class ExpressionTextEdit(QPlainTextEdit):
    """A plain text editor with a QCompleter for the path being typed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.completer = QCompleter(self)
        self.completer.setModel(QStringListModel(self.completer))
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setWidget(self)
        self.completer.activated[str].connect(self.insert_completion)

    def set_words(self, words: list[str]) -> None:
        self.completer.model().setStringList(words)

    def prefix(self) -> str:
        cursor = self.textCursor()
        line = cursor.block().text()[: cursor.positionInBlock()]
        match = PREFIX.search(line)
        return match.group(0) if match else ""

    def insert_completion(self, completion: str) -> None:
        cursor = self.textCursor()
        prefix = self.prefix()
        for _ in prefix:
            cursor.deletePreviousChar()
        cursor.insertText(completion)
        self.setTextCursor(cursor)

    def update_completion(self) -> bool:
        """Offer completions for the path before the cursor; True when some are shown."""
        prefix = self.prefix()
        if not prefix:
            self.completer.popup().hide()
            return False
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0 or (
                self.completer.completionCount() == 1 and self.completer.currentCompletion() == prefix):
            self.completer.popup().hide()
            return False
        rect = self.cursorRect()
        rect.setWidth(self.completer.popup().sizeHintForColumn(0) + 24)
        self.completer.complete(rect)
        return True

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        popup = self.completer.popup()
        if popup.isVisible() and event.key() in (Qt.Key.Key_Enter, Qt.Key.Key_Return, Qt.Key.Key_Escape,
                                                 Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            event.ignore()  # the completer takes these
            return
        if event.key() == Qt.Key.Key_Space and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.update_completion()  # ask for completions; types nothing
            return
        super().keyPressEvent(event)
        if event.key() == Qt.Key.Key_Backspace or (event.text() and event.text().isprintable()
                                                   and not event.text().isspace()):
            self.update_completion()
        else:
            self.completer.popup().hide()


class ExpressionEditorDialog(QDialog):
    """Edit one field's value as an expression; the preview shows what it resolves to now."""

    def __init__(self, document: FlowDocument, node_id: str | None, label: str, text: str,
                 data: RunData | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.node_id = node_id
        self.data = data
        self.setWindowTitle(f"Expression: {label}")
        self.resize(560, 460)
        layout = QVBoxLayout(self)
        hint = QLabel("Type {{ }} around a path: {{ nodes.Name.output }}, {{ trigger.topic }}, {{ input }}. "
                      "Ctrl+Space completes node names and output fields.")
        hint.setWordWrap(True)
        hint.setProperty("role", "muted")
        self.editor = ExpressionTextEdit()
        font = self.editor.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.editor.setFont(font)
        self.editor.setPlainText(text)
        self.editor.set_words(completion_words(document, node_id, data))
        self.source = QLabel()
        self.source.setProperty("role", "muted")
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFont(font)
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(hint)
        layout.addWidget(self.editor, 2)
        layout.addWidget(self.source)
        layout.addWidget(QLabel("Result"))
        layout.addWidget(self.preview, 2)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.refresh)
        self.editor.textChanged.connect(self._timer.start)
        self.refresh()

    def text(self) -> str:
        return self.editor.toPlainText().strip()

    def error_text(self) -> str | None:
        return self.error.text() if not self.error.isHidden() else None

    def preview_text(self) -> str:
        return self.preview.toPlainText()

    def refresh(self) -> None:
        """Resolve the text now with the last run's data and show the value or the error."""
        self._timer.stop()
        outputs = (self.data.outputs if self.data else None) or {}
        self.source.setText("Resolved with the last run's (and pinned) outputs." if outputs
                            else "No run data yet: run the flow (or pin outputs) to see values.")
        text = self.editor.toPlainText()
        try:
            value = render(text, build_scope(self.document, self.node_id, self.data))
        except MissingValueError as exc:
            self.preview.setPlainText("")
            self._show_error(f"No value: {exc}" + ("" if outputs else " (nothing has run yet)"))
            return
        except ExpressionError as exc:
            self.preview.setPlainText("")
            self._show_error(f"Error: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - a preview must never break editing
            self.preview.setPlainText("")
            self._show_error(f"Error: {type(exc).__name__}: {exc}")
            return
        self.error.hide()
        self.preview.setPlainText(describe(value))

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
