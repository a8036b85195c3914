"""Drag a field from the inspector's JSON tree onto a property: the property then reads that
field of the node's output (`{{ nodes.Write.output.choices[0].message }}`), as n8n's and
Rivet's inspectors let you do. The tree is the drag source, every property field a drop target;
a field already holding text gets the expression added at the end (at the drop point in the
expression box)."""

from __future__ import annotations

from typing import Any, Callable

from qtpy.QtCore import QEvent, QMimeData, QObject, QPoint, Qt
from qtpy.QtGui import QDrag
from qtpy.QtWidgets import QApplication, QLineEdit, QTreeWidget, QTreeWidgetItem, QWidget

from studio.catalog.models import ValueType

from .panel.expression_editor import _key_step, _ref

EXPRESSION_MIME = "application/x-flow-studio-expression"
TEXT_TYPES = {ValueType.STRING, ValueType.TEXT}


def tree_path(item: QTreeWidgetItem) -> list[str | int]:
    """The keys from the tree's `output` row down to `item` (list items by index)."""
    keys: list[str | int] = []
    while item is not None and item.parent() is not None:
        parent = item.parent()
        keys.append(int(item.text(0)) if parent.text(1).startswith("[") else item.text(0))
        item = parent
    return list(reversed(keys))


def field_expression(node_name: str, path: list[str | int]) -> str:
    return "{{ " + _ref(node_name) + ".output" + "".join(_key_step(k) for k in path) + " }}"


class JsonTreeDrag(QObject):
    """Makes the rows of a JSON tree draggable as expressions of `node_name()`'s output."""

    def __init__(self, tree: QTreeWidget, node_name: Callable[[], str | None]) -> None:
        super().__init__(tree)
        self.tree = tree
        self.node_name = node_name
        self._press: QPoint | None = None
        self.start_drag: Callable[[QMimeData], Any] = self._exec_drag
        tree.viewport().installEventFilter(self)
        tree.setToolTip("Drag a field onto a property to read it there")

    def mime_for(self, item: QTreeWidgetItem) -> QMimeData | None:
        name = self.node_name()
        if not name:
            return None
        text = field_expression(name, tree_path(item))
        mime = QMimeData()
        mime.setData(EXPRESSION_MIME, text.encode())
        mime.setText(text)
        return mime

    def _exec_drag(self, mime: QMimeData) -> Any:
        drag = QDrag(self.tree)
        drag.setMimeData(mime)
        return drag.exec(Qt.DropAction.CopyAction)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        elif kind == QEvent.Type.MouseButtonRelease:
            self._press = None
        elif kind == QEvent.Type.MouseMove and self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            if (event.position().toPoint() - self._press).manhattanLength() >= QApplication.startDragDistance():
                item = self.tree.itemAt(self._press)
                self._press = None
                mime = self.mime_for(item) if item is not None else None
                if mime is not None:
                    self.start_drag(mime)
                    return True
        return super().eventFilter(obj, event)


class ExpressionDrop(QObject):
    """Takes expression drops for one property field (its label, editor and expression box)."""

    def __init__(self, field: Any) -> None:
        super().__init__(field)
        self.field = field
        field.setAcceptDrops(True)
        for widget in [field, *field.findChildren(QWidget)]:
            widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            mime = event.mimeData()
            if mime is None or not mime.hasFormat(EXPRESSION_MIME):
                return False
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            if kind == QEvent.Type.Drop:
                text = bytes(mime.data(EXPRESSION_MIME)).decode()
                at = obj.cursorPositionAt(event.position().toPoint()) if obj is self.field.expression else None
                self.drop(text, at)
            return True
        return super().eventFilter(obj, event)

    def drop(self, expression: str, at: int | None = None) -> None:
        """Write the field's new value: the expression, inserted at `at` in the expression box,
        added after the text of a text field, or in place of any other value."""
        field, panel = self.field, self.field.panel
        key = field.spec.key
        current = panel.current_value(key)
        box: QLineEdit = field.expression
        if field.expr_button.isChecked() and box.text().strip():
            text = box.text()
            at = len(text) if at is None else max(0, min(at, len(text)))
            value = text[:at] + expression + text[at:]
        elif isinstance(current, str) and current.strip() and field.spec.type in TEXT_TYPES:
            value = current + ("" if current.endswith((" ", "\n")) else " ") + expression
        else:
            value = expression
        panel.write(key, value)
        field.show_value(panel.current_value(key))
