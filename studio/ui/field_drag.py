"""Drag a field from the inspector's JSON tree onto a property: the property then reads that
field of the node's output (`{{ nodes.Write.output.choices[0].message }}`), as n8n's and
Rivet's inspectors let you do. The tree is the drag source, every property field a drop target;
a field already holding text gets the expression added at the end (at the drop point in the
expression box). The drop targets listen only while such a drag is on (one application event
filter), so building a property panel costs nothing more."""

from __future__ import annotations

from typing import Any, Callable, Iterable

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
    """Makes the rows of a JSON tree draggable as expressions of `node_name()`'s output, onto
    the property fields `targets()` gives (the property panel's)."""

    def __init__(self, tree: QTreeWidget, node_name: Callable[[], str | None],
                 targets: Callable[[], Iterable[QWidget]]) -> None:
        super().__init__(tree)
        self.tree = tree
        self.node_name = node_name
        self.targets = targets
        self._press: QPoint | None = None
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

    def start_drag(self, mime: QMimeData) -> Qt.DropAction:
        """Drag `mime` (blocks until dropped); the property fields take it meanwhile."""
        fields = list(self.targets())
        for field in fields:
            field.setAcceptDrops(True)
        drops = FieldDrops()
        app = QApplication.instance()
        app.installEventFilter(drops)
        try:
            drag = QDrag(self.tree)
            drag.setMimeData(mime)
            return drag.exec(Qt.DropAction.CopyAction)
        finally:
            app.removeEventFilter(drops)

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


def field_of(widget: Any) -> Any:
    """The property field (a widget with `spec` and `panel`) `widget` is part of, or None."""
    while widget is not None:
        if hasattr(widget, "spec") and hasattr(widget, "panel") and hasattr(widget, "expression"):
            return widget
        widget = widget.parentWidget() if isinstance(widget, QWidget) else None
    return None


class FieldDrops(QObject):
    """While an expression is dragged: drag events over a property field are taken by the field
    (its label, editor or expression box), not by the text box under the cursor."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        mime = event.mimeData()
        field = field_of(obj)
        if mime is None or not mime.hasFormat(EXPRESSION_MIME) or field is None:
            return False
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if kind == QEvent.Type.Drop:
            text = bytes(mime.data(EXPRESSION_MIME)).decode()
            at = obj.cursorPositionAt(event.position().toPoint()) if obj is field.expression else None
            drop_on_field(field, text, at)
        return True


def drop_on_field(field: Any, expression: str, at: int | None = None) -> None:
    """Write the field's new value: the expression, inserted at `at` in the expression box,
    added after the text of a text field, or in place of any other value."""
    panel = field.panel
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
