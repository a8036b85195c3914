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
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.catalog import Catalog
from studio.catalog.models import Action, Input, ValueType
from studio.flow.models import NAME_PATTERN

from ..document import FlowDocument
from .expression_editor import ExpressionEditorDialog, RunData, RunDataProvider
from .field import Field, is_expression  # noqa: F401 - is_expression: where callers found it
from .widgets import EditorContext, ValueEditor

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
        self.group_headings: dict[str, QLabel] = {}
        self.add_option_button: QToolButton | None = None
        self._pages: dict[str, _Page] = {}  # action id -> its page, built once
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
        """Show `node_id`: the page of its action is built the first time a node of that action
        is shown, then kept and refilled with each node's values (building it took most of the
        time of a selection)."""
        for f in self.fields.values():
            if f.editor.has_pending_edit():
                f.editor.commit()
        if node_id != self.node_id:
            self._close_expression_dialog()  # it writes to the node shown: not to the next one
        self.node_id = node_id
        node = self.document.node(node_id) if node_id is not None else None
        action = self.catalog.get(node.action) if node is not None and node.action in self.catalog else None
        page = self._pages.get(action.id) if action is not None else None
        shown = self.widget()
        if shown is not None and (page is None or shown is not page.body) \
                and any(p.body is shown for p in self._pages.values()):
            self.takeWidget()  # a kept page: setWidget would delete it
        self.action = action
        if node is None:
            self.fields = {}
            self._show_hint()
            return
        if page is None:
            page = self._build_page(node)
            if action is not None:
                self._pages[action.id] = page
        for name in _Page.WIDGETS:
            setattr(self, name, getattr(page, name))
        if self.widget() is not page.body:
            self.setWidget(page.body)
        self._fill(node)
        self.verticalScrollBar().setValue(0)

    def _close_expression_dialog(self) -> None:
        dialog, self.expression_dialog = self.expression_dialog, None
        try:
            if dialog is not None and dialog.isVisible():
                dialog.reject()
        except RuntimeError:  # already deleted (closed earlier)
            pass

    def _show_hint(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 8, 10, 10)
        hint = QLabel("Select a node to edit its fields.\n\nDrag nodes from the palette, or press Tab on the canvas.")
        hint.setWordWrap(True)
        hint.setProperty("role", "muted")
        layout.addWidget(hint)
        layout.addStretch(1)
        self.setWidget(body)

    def _build_page(self, node: Any) -> "_Page":
        """The widgets for `node`'s action: headings, node settings, one Field per input."""
        page = _Page()
        page.body = body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 8, 10, 10)
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
        page.node_error = QLabel()
        page.node_error.setProperty("role", "error")
        page.node_error.setWordWrap(True)
        page.node_error.hide()
        layout.addWidget(page.node_error)
        layout.addWidget(self._node_settings(page))
        group = None
        page.fields, page.group_headings = {}, {}
        for spec in self.action.inputs if self.action else []:
            if spec.group != group and spec.group and spec.group not in page.group_headings:
                heading = QLabel(spec.group)
                heading.setProperty("role", "heading")
                layout.addWidget(heading)
                page.group_headings[spec.group] = heading
            group = spec.group
            field = Field(self, spec, self.context)
            page.fields[spec.key] = field
            layout.addWidget(field)
        page.add_option_button = button = QToolButton()
        button.setText("Add option")
        button.setToolTip("Show an optional field; the others keep their defaults")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setMenu(QMenu(button))
        layout.addWidget(button)
        layout.addStretch(1)
        return page

    def _fill(self, node: Any) -> None:
        """Everything the page shows of one node: settings, values, expression toggles, errors,
        folded options (and so the model list, through the connection)."""
        self.name_edit.setText(node.name)
        self.name_error.hide()
        self.node_error.clear()
        self.node_error.hide()
        self._show_settings(node)
        # Connection first so Model fields know which list to fetch.
        for spec in sorted(self.action.inputs if self.action else [], key=lambda s: s.type is not ValueType.CONNECTION):
            self.fields[spec.key].reset(node.values.get(spec.key))
        self.update_options()
        self.validate()

    def _show_settings(self, node: Any) -> None:
        """The node's own settings, without writing them back."""
        for widget, setter, value in ((self.disabled_check, self.disabled_check.setChecked, node.disabled),
                                      (self.on_error_combo, self.on_error_combo.setCurrentIndex,
                                       ["stop", "continue", "route"].index(node.on_error)),
                                      (self.retry_spin, self.retry_spin.setValue, node.retry.max_tries)):
            widget.blockSignals(True)
            setter(value)
            widget.blockSignals(False)

    def _node_settings(self, page: "_Page") -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 6, 0, 6)
        page.name_edit = QLineEdit()
        page.name_edit.setToolTip("Expressions refer to this node by name: {{ nodes.<name>.output }}")
        page.name_edit.editingFinished.connect(self._rename)
        page.name_error = QLabel()
        page.name_error.setProperty("role", "error")
        page.name_error.hide()
        page.disabled_check = QCheckBox("Disabled (passes its input through)")
        page.disabled_check.toggled.connect(lambda v: self._set_field("disabled", v))
        page.on_error_combo = combo = QComboBox()
        for value, label in (("stop", "Stop the run"), ("continue", "Continue with the error"),
                             ("route", "Send to the error port")):
            combo.addItem(label, value)
        combo.currentIndexChanged.connect(lambda _i: self._set_field("on_error", combo.currentData()))
        page.retry_spin = QSpinBox()
        page.retry_spin.setRange(1, 10)
        page.retry_spin.setKeyboardTracking(False)
        page.retry_spin.valueChanged.connect(self._set_retry)
        form.addRow("Name", page.name_edit)
        form.addRow("", page.name_error)
        form.addRow("On error", combo)
        form.addRow("Tries", page.retry_spin)
        form.addRow("", page.disabled_check)
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
        for group, heading in self.group_headings.items():
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
        self._show_settings(node)
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
        for key, field in self.fields.items():  # an empty required field too: the validator warns of it
            messages = per_field.get(key, [])
            field.set_error("; ".join(messages) if messages else None)
        self.node_error.setText("\n".join(general))
        self.node_error.setVisible(bool(general))
        self._problems = problems


class _Page:
    """The widgets built for one action, kept while the panel lives and refilled per node."""

    WIDGETS = ("fields", "group_headings", "node_error", "name_edit", "name_error", "disabled_check",
               "on_error_combo", "retry_spin", "add_option_button")

    body: QWidget
    fields: dict[str, Field]
    group_headings: dict[str, QLabel]
    node_error: QLabel
    name_edit: QLineEdit
    name_error: QLabel
    disabled_check: QCheckBox
    on_error_combo: QComboBox
    retry_spin: QSpinBox
    add_option_button: QToolButton
