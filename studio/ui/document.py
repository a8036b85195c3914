"""The editor's handle on one flow document: every edit goes through an undo command here, and
views (canvas, property panel) follow the signals. The document is the authority; views never
write to each other."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QUndoCommand, QUndoStack

from studio.flow.models import Flow, Node


class _Edit(QUndoCommand):
    """A reversible edit expressed as two functions over the document."""

    def __init__(self, text: str, redo: Callable[[], None], undo: Callable[[], None], merge_id: int = -1,
                 merge_key: Any = None) -> None:
        super().__init__(text)
        self._redo, self._undo = redo, undo
        self._merge_id, self.merge_key = merge_id, merge_key

    def redo(self) -> None:
        self._redo()

    def undo(self) -> None:
        self._undo()

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self._merge_id


class FlowDocument(QObject):
    """Signals carry node ids; listeners read the current state from `flow`."""

    changed = Signal()  # anything changed (dirty marker, autosave)
    node_added = Signal(str)
    node_removed = Signal(str)
    node_changed = Signal(str)  # values, name, settings or position of one node
    wires_changed = Signal()
    notes_changed = Signal()
    path_changed = Signal()

    def __init__(self, flow: Flow | None = None, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._flow = flow or Flow()
        self.path = path
        self.undo_stack = QUndoStack(self)
        self.undo_stack.indexChanged.connect(lambda _i: self.changed.emit())

    @property
    def flow(self) -> Flow:
        return self._flow

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.undo_stack.setClean()
        self.path_changed.emit()

    # -- node values -------------------------------------------------------------------------

    def set_node_value(self, node_id: str, key: str, value: Any) -> None:
        """Set one input value (None removes it, so the documented default applies). Undoable;
        consecutive edits of the same field merge into one undo step."""
        node = self._flow.node(node_id)
        missing = object()
        before = copy.deepcopy(node.values.get(key, missing))
        after = copy.deepcopy(value)

        def apply(v: Any) -> Callable[[], None]:
            def run() -> None:
                n = self._flow.node(node_id)
                if v is missing or v is None:
                    n.values.pop(key, None)
                else:
                    n.values[key] = copy.deepcopy(v)
                self.node_changed.emit(node_id)
            return run

        self.undo_stack.push(_Edit(f"Edit {key}", apply(after), apply(before)))

    def set_node_field(self, node_id: str, field: str, value: Any) -> None:
        """Set a node attribute other than its input values (name, disabled, on_error, retry)."""
        node = self._flow.node(node_id)
        before = copy.deepcopy(getattr(node, field))

        def apply(v: Any) -> Callable[[], None]:
            def run() -> None:
                setattr(self._flow.node(node_id), field, copy.deepcopy(v))
                self.node_changed.emit(node_id)
            return run

        self.undo_stack.push(_Edit(f"Change {field}", apply(value), apply(before)))

    def node(self, node_id: str) -> Node:
        return self._flow.node(node_id)
