"""The property panel: generated from the selected node's catalog inputs, never written per
action. Each input gets the editor for its ValueType, its label (marked when required), the
document's help text, an expression toggle and an inline error line; every edit is an undoable
FlowDocument edit."""

from __future__ import annotations

import re
from typing import Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QMenu,
    QComboBox,
    QCompleter,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.catalog import Catalog
from studio.catalog.models import Action, Input, ValueType
from studio.flow.models import NAME_PATTERN

from ..document import FlowDocument
from .expression_editor import ExpressionEditorDialog, RunData, RunDataProvider
from .widgets import EditorContext, ValueEditor, create_editor

EXPR = re.compile(r"\{\{.*\}\}", re.S)
DESCRIPTION_CHARS = 180


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and bool(EXPR.search(value))


def upstream_names(document: FlowDocument, node_id: str) -> list[str]:
    """Names of every node upstream of `node_id` (what its expressions may read)."""
    flow = document.flow
    seen: set[str] = set()
    todo = [node_id]
    while todo:
        nid = todo.pop()
        for wire in flow.incoming(nid):
            if wire.source.node not in seen:
                seen.add(wire.source.node)
                todo.append(wire.source.node)
    return [n.name for n in flow.nodes if n.id in seen]


def expression_suggestions(document: FlowDocument, node_id: str) -> list[str]:
    out = ["{{ input }}", "{{ trigger }}", "{{ run.id }}"]
    for name in upstream_names(document, node_id):
        ref = f"nodes.{name}" if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) else f'nodes["{name}"]'
        out += [f"{{{{ {ref}.output }}}}", f"{{{{ {ref}.output | json }}}}", f"{{{{ {ref}.status }}}}"]
    return out


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


class PropertyPanel(QScrollArea):
    """Shows one node; `show_node(None)` shows a hint."""

    def __init__(self, document: FlowDocument, catalog: Catalog, context: EditorContext | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.catalog = catalog
        self.context = context or EditorContext(parent=self)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.node_id: str | None = None
        self.action: Action | None = None
        self.fields: dict[str, Field] = {}
        self._problems: list[Any] = []
        # Where the expression editor reads the last run's outputs (read-only). The main window may
        # set it; otherwise it is looked up on the window (its run controller and pins).
        self.run_data_provider: RunDataProvider | None = None
        self.expression_dialog: ExpressionEditorDialog | None = None
        # Optional inputs revealed with "Add option", per node, for as long as the window lives.
        self._revealed: dict[str, set[str]] = {}
        self._group_headings: dict[str, QLabel] = {}
        self.add_option_button: QToolButton | None = None
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(250)
        self._validate_timer.timeout.connect(self.validate)
        document.node_changed.connect(self._on_node_changed)
        document.node_removed.connect(lambda nid: self.show_node(None) if nid == self.node_id else None)
        document.reset.connect(lambda: self.show_node(None))
        document.wires_changed.connect(self._validate_timer.start)
        self.show_node(None)

    # building -----------------------------------------------------------------------------------

    def show_node(self, node_id: str | None) -> None:
        for f in self.fields.values():
            if f.editor.has_pending_edit():
                f.editor.commit()
        self.node_id = node_id
        self.fields = {}
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 8, 10, 10)
        if node_id is None:
            hint = QLabel("Select a node to edit its fields.\n\nDrag nodes from the palette, or press Tab on the canvas.")
            hint.setWordWrap(True)
            hint.setProperty("role", "muted")
            layout.addWidget(hint)
            layout.addStretch(1)
            self.action = None
            self.setWidget(body)
            return
        node = self.document.node(node_id)
        self.action = self.catalog.get(node.action) if node.action in self.catalog else None
        title = QLabel(self.action.title if self.action else f"Unknown action {node.action}")
        title.setProperty("role", "heading")
        layout.addWidget(title)
        if self.action is not None:
            sub = QLabel(f"{self.action.kind.capitalize()} · {self.action.category}")
            sub.setProperty("role", "muted")
            layout.addWidget(sub)
            if self.action.description:
                desc = QLabel(self.action.description)
                desc.setWordWrap(True)
                layout.addWidget(desc)
            if self.action.deprecated:
                dep = QLabel("Deprecated: " + self.action.deprecated)
                dep.setWordWrap(True)
                dep.setProperty("role", "error")
                layout.addWidget(dep)
        self.node_error = QLabel()
        self.node_error.setProperty("role", "error")
        self.node_error.setWordWrap(True)
        self.node_error.hide()
        layout.addWidget(self.node_error)
        layout.addWidget(self._node_settings(node))
        group = None
        self._group_headings = {}
        for spec in self.action.inputs if self.action else []:
            if spec.group != group and spec.group and spec.group not in self._group_headings:
                heading = QLabel(spec.group)
                heading.setProperty("role", "heading")
                layout.addWidget(heading)
                self._group_headings[spec.group] = heading
            group = spec.group
            field = Field(self, spec, self.context)
            self.fields[spec.key] = field
            layout.addWidget(field)
        self.add_option_button = QToolButton()
        self.add_option_button.setText("Add option")
        self.add_option_button.setToolTip("Show an optional field; the others keep their defaults")
        self.add_option_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_option_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.add_option_button.setMenu(QMenu(self.add_option_button))
        layout.addWidget(self.add_option_button)
        layout.addStretch(1)
        self.setWidget(body)
        # Connection first so Model fields know which list to fetch.
        for spec in sorted(self.action.inputs if self.action else [], key=lambda s: s.type is not ValueType.CONNECTION):
            self.fields[spec.key].show_value(node.values.get(spec.key))
        self.update_options()
        self.validate()

    def _node_settings(self, node: Any) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 6, 0, 6)
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setToolTip("Expressions refer to this node by name: {{ nodes.<name>.output }}")
        self.name_edit.editingFinished.connect(self._rename)
        self.name_error = QLabel()
        self.name_error.setProperty("role", "error")
        self.name_error.hide()
        self.disabled_check = QCheckBox("Disabled (passes its input through)")
        self.disabled_check.setChecked(node.disabled)
        self.disabled_check.toggled.connect(lambda v: self._set_field("disabled", v))
        self.on_error_combo = QComboBox()
        for value, label in (("stop", "Stop the run"), ("continue", "Continue with the error"),
                             ("route", "Send to the error port")):
            self.on_error_combo.addItem(label, value)
        self.on_error_combo.setCurrentIndex(["stop", "continue", "route"].index(node.on_error))
        self.on_error_combo.currentIndexChanged.connect(lambda _i: self._set_field("on_error", self.on_error_combo.currentData()))
        self.retry_spin = QSpinBox()
        self.retry_spin.setRange(1, 10)
        self.retry_spin.setValue(node.retry.max_tries)
        self.retry_spin.setKeyboardTracking(False)
        self.retry_spin.valueChanged.connect(self._set_retry)
        form.addRow("Name", self.name_edit)
        form.addRow("", self.name_error)
        form.addRow("On error", self.on_error_combo)
        form.addRow("Tries", self.retry_spin)
        form.addRow("", self.disabled_check)
        return box

    # optional inputs ------------------------------------------------------------------------------

    def is_shown_always(self, spec: Input) -> bool:
        """Required inputs, the connection and the model, inputs set to something other than their
        default, and ports with a wire in are always shown; the rest wait behind "Add option"."""
        if spec.required or spec.type in (ValueType.CONNECTION, ValueType.MODEL):
            return True
        if self.node_id is None:
            return True
        values = self.document.node(self.node_id).values
        if spec.key in values and values[spec.key] is not None and values[spec.key] != spec.default:
            return True
        return spec.port and any(w.target.port == spec.key for w in self.document.flow.incoming(self.node_id))

    def option_keys(self) -> list[str]:
        """Keys of the inputs folded behind "Add option" now."""
        return [key for key, f in self.fields.items() if f.isHidden()]

    def update_options(self) -> None:
        """Show what must be seen, fold the rest, and list the folded inputs in "Add option"."""
        if self.node_id is None or self.add_option_button is None:
            return
        revealed = self._revealed.setdefault(self.node_id, set())
        for key, field in self.fields.items():
            always = self.is_shown_always(field.spec)
            if always and not field.spec.required and field.spec.type not in (ValueType.CONNECTION, ValueType.MODEL):
                revealed.add(key)  # set once: stays until removed, even if set back to the default
            shown = always or key in revealed
            field.setVisible(shown)
            field.remove_button.setVisible(shown and key in revealed and not field.spec.required
                                           and field.spec.type not in (ValueType.CONNECTION, ValueType.MODEL))
        for group, heading in self._group_headings.items():
            heading.setVisible(any(not f.isHidden() for f in self.fields.values() if f.spec.group == group))
        menu = self.add_option_button.menu()
        menu.clear()
        group: Any = object()
        folded = [f for f in self.fields.values() if f.isHidden()]
        for field in folded:
            if field.spec.group != group:
                group = field.spec.group
                if group:
                    menu.addSection(group)
            action = menu.addAction(field.spec.label)
            action.setToolTip(field.spec.description)
            action.setData(field.spec.key)
            action.triggered.connect(lambda _checked=False, key=field.spec.key: self.add_option(key))
        self.add_option_button.setText(f"Add option ({len(folded)})" if folded else "Add option")
        self.add_option_button.setVisible(bool(folded))

    def add_option(self, key: str) -> None:
        """Reveal a folded input (its value stays the default until edited)."""
        if self.node_id is None or key not in self.fields:
            return
        self._revealed.setdefault(self.node_id, set()).add(key)
        self.update_options()
        self.ensureWidgetVisible(self.fields[key])
        self.fields[key].editor.setFocus()

    def remove_option(self, key: str) -> None:
        """Fold an input again and reset it to its default (one undoable edit when it was set)."""
        if self.node_id is None or key not in self.fields:
            return
        self._revealed.setdefault(self.node_id, set()).discard(key)
        field = self.fields[key]
        if field.editor.has_pending_edit():
            field.editor._commit_timer.stop()
        self.write(key, None)
        field.show_value(None)
        self.update_options()

    def show_all_options(self) -> None:
        for key in list(self.fields):
            self._revealed.setdefault(self.node_id or "", set()).add(key)
        self.update_options()

    # the last run, for the expression editor ------------------------------------------------------

    def run_data(self) -> RunData | None:
        """The last run's outputs (pins win, as in a run), read-only; None when unknown."""
        try:
            if self.run_data_provider is not None:
                return self.run_data_provider()
            return self._window_run_data()
        except Exception:  # noqa: BLE001 - a preview must not break editing
            return None

    def _window_run_data(self) -> RunData | None:
        runs = getattr(self.window(), "runs", None)
        if runs is None:
            return None
        outputs = dict(getattr(runs, "last_outputs", None) or {})
        pinned = getattr(runs, "pinned_outputs", None)
        if pinned is not None:
            try:
                outputs.update(pinned(self.document.flow) or {})
            except Exception:  # noqa: BLE001 - no history: no pins
                pass
        last = getattr(runs, "last_result", None)
        return RunData(outputs=outputs, trigger=getattr(last, "trigger", None), run_id=getattr(last, "run_id", None))

    # reading and writing -------------------------------------------------------------------------

    def editor(self, key: str) -> ValueEditor:
        return self.fields[key].editor

    def current_value(self, key: str) -> Any:
        return self.document.node(self.node_id).values.get(key) if self.node_id else None

    def write(self, key: str, value: Any) -> None:
        if self.node_id is None:
            return
        if value == self.current_value(key):
            return
        self.document.set_node_value(self.node_id, key, value)

    def _set_field(self, field: str, value: Any) -> None:
        if self.node_id is not None and getattr(self.document.node(self.node_id), field) != value:
            self.document.set_node_field(self.node_id, field, value)

    def _set_retry(self, tries: int) -> None:
        if self.node_id is None:
            return
        retry = self.document.node(self.node_id).retry.model_copy(update={"max_tries": tries})
        self._set_field("retry", retry)

    def _rename(self) -> None:
        if self.node_id is None:
            return
        name = self.name_edit.text().strip()
        node = self.document.node(self.node_id)
        if name == node.name:
            self.name_error.hide()
            return
        problem = None
        if not re.match(NAME_PATTERN, name):
            problem = "Use letters, digits, spaces, '-' or '_', starting with a letter (at most 80)."
        elif name in {n.name for n in self.document.flow.nodes}:
            problem = f"Another node is already called '{name}'."
        if problem:
            self.name_error.setText(problem)
            self.name_error.show()
            return
        self.name_error.hide()
        self.document.set_node_field(self.node_id, "name", name)

    def completer(self) -> QCompleter:
        completer = QCompleter(expression_suggestions(self.document, self.node_id or ""), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        return completer

    def _on_node_changed(self, node_id: str) -> None:
        if node_id != self.node_id:
            return
        node = self.document.node(node_id)
        for key, field in self.fields.items():
            field.show_value(node.values.get(key))
        self.update_options()
        if not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        for widget, value in ((self.disabled_check, node.disabled),):
            widget.blockSignals(True)
            widget.setChecked(value)
            widget.blockSignals(False)
        self.on_error_combo.blockSignals(True)
        self.on_error_combo.setCurrentIndex(["stop", "continue", "route"].index(node.on_error))
        self.on_error_combo.blockSignals(False)
        self.retry_spin.blockSignals(True)
        self.retry_spin.setValue(node.retry.max_tries)
        self.retry_spin.blockSignals(False)
        self._validate_timer.start()

    # inline errors --------------------------------------------------------------------------------

    def validate(self) -> None:
        """Show the flow validator's problems for this node next to the fields they concern."""
        if self.node_id is None or self.action is None:
            return
        self.update_options()  # a wire into a port input shows that input
        try:
            problems = self.document.problems(self.catalog)
        except Exception as exc:  # noqa: BLE001 - a validator bug must not break editing
            problems = []
            self.node_error.setText(f"Could not check this node: {exc}")
            self.node_error.show()
            return
        index = next(i for i, n in enumerate(self.document.flow.nodes) if n.id == self.node_id)
        prefix = f"nodes[{index}]"
        per_field: dict[str, list[str]] = {}
        general: list[str] = []
        for p in problems:
            path = p.path
            if not (path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")):
                continue
            m = re.match(re.escape(prefix) + r"\.values(?:\.([a-z0-9_]+)|\[\"?'?([a-z0-9_]+))", path)
            key = (m.group(1) or m.group(2)) if m else None
            if key in self.fields:
                per_field.setdefault(key, []).append(p.message)
            else:
                general.append(p.message)
        node = self.document.node(self.node_id)
        wired = {w.target.port for w in self.document.flow.incoming(self.node_id)}
        for key, field in self.fields.items():
            messages = per_field.get(key, [])
            spec = field.spec
            if spec.required and spec.default is None and node.values.get(key) in (None, "", [], {}) \
                    and key not in wired and not messages:
                messages.append(f"{spec.label} is required.")
            field.set_error("; ".join(messages) if messages else None)
        self.node_error.setText("\n".join(general))
        self.node_error.setVisible(bool(general))
        self._problems = problems
