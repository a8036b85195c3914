"""The canvas's own scene items beside the nodes: run status badges and sticky notes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QBrush, QColor, QFont, QPainter, QPen
from qtpy.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsTextItem, QInputDialog

from studio.flow.models import Note, Position

from .theme import STATUS_COLORS, current_theme

if TYPE_CHECKING:
    from .canvas import FlowCanvas

log = logging.getLogger(__name__)


class _Badge(QGraphicsItem):
    """A status pill drawn above a node's top-right corner."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.status = ""
        self.setZValue(10)
        self._font = QFont()
        self._font.setPointSizeF(7.5)
        self._font.setBold(True)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(0, 0, 78, 16)

    def set_status(self, status: str) -> None:
        self.status = status
        self.setVisible(bool(status))
        self.update()

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        if not self.status:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(self._font)
        text = self.status
        width = painter.fontMetrics().horizontalAdvance(text) + 16
        rect = QRectF(78 - width, 0, width, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(STATUS_COLORS.get(self.status, "#8a94a0")))
        painter.drawRoundedRect(rect, 8, 8)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


class StickyNote(QGraphicsRectItem):
    """A sticky comment; moving or double-clicking it edits the document's note."""

    def __init__(self, canvas: "FlowCanvas", note: Note) -> None:
        super().__init__(0, 0, note.width, note.height)
        self.canvas = canvas
        self.note_id = note.id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(-5)
        self.text = QGraphicsTextItem(self)
        self.text.setPos(8, 6)
        self.update_from(note)

    def update_from(self, note: Note) -> None:
        theme = current_theme()
        self.setRect(0, 0, note.width, note.height)
        self.setPos(note.position.x, note.position.y)
        self.setBrush(QBrush(QColor(theme.note)))
        self.setPen(QPen(QColor(theme.note).darker(130), 1))
        self.text.setDefaultTextColor(QColor(theme.note_text))
        self.text.setTextWidth(note.width - 16)
        self.text.setPlainText(note.text or "Double-click to write a note")

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().mouseReleaseEvent(event)
        pos = self.pos()
        self.canvas.document.set_note(self.note_id, position=Position(x=pos.x(), y=pos.y()))

    def mouseDoubleClickEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        note = next((n for n in self.canvas.document.flow.notes if n.id == self.note_id), None)
        if note is None:
            return
        text, ok = QInputDialog.getMultiLineText(None, "Sticky note", "Note:", note.text)
        if ok:
            self.canvas.document.set_note(self.note_id, text=text)
