"""The text on a canvas node (its title and its ports' names) as plain text items.

NodeGraphQt draws both with QGraphicsTextItem, which carries a whole QTextDocument and its
layout: about 25 KiB a label, three labels a node, so three quarters of what a node costs
(75 MiB of a 1000-node flow). These items draw the same text in the same place for about
2 KiB: a QGraphicsSimpleTextItem, answering the few QGraphicsTextItem calls NodeGraphQt makes,
with QTextDocument's 4-pixel margin around the text so every node keeps its size and layout.
A node's title is renamed with the canvas's rename box (as F2 does) instead of a text editor
inside the item."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QFontMetrics, QPainter
from qtpy.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem

DOCUMENT_MARGIN = 4.0  # QTextDocument's default margin, which NodeGraphQt's layout counts on


class NodeLabel(QGraphicsSimpleTextItem):
    """A port's name: one line of text, coloured by `setDefaultTextColor` as NodeGraphQt does."""

    def __init__(self, text: str, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks go to the node
        self._rect = QRectF()
        self.setPlainText(text)

    def toPlainText(self) -> str:  # noqa: N802 - QGraphicsTextItem's name
        return self.text()

    def setPlainText(self, text: str) -> None:  # noqa: N802 - QGraphicsTextItem's name
        self.prepareGeometryChange()
        self.setText(text)
        inner = QGraphicsSimpleTextItem.boundingRect(self)
        margin = DOCUMENT_MARGIN
        self._rect = inner.adjusted(0, 0, 2 * margin, 2 * margin) if text else QRectF()

    def setFont(self, font: Any) -> None:  # noqa: N802 - Qt's name
        super().setFont(font)
        self.setPlainText(self.text())  # the size follows the font

    def setDefaultTextColor(self, color: Any) -> None:  # noqa: N802 - QGraphicsTextItem's name
        self.setBrush(QColor(color))

    def defaultTextColor(self) -> QColor:  # noqa: N802 - QGraphicsTextItem's name
        return self.brush().color()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._rect

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        painter.translate(DOCUMENT_MARGIN, DOCUMENT_MARGIN)
        super().paint(painter, option, widget)


class TitleLabel(NodeLabel):
    """A node's title. Double-clicking it (NodeGraphQt calls `set_editable(True)`) opens the
    canvas's rename box over the node through the viewer's `edit_node_title(item_id)`."""

    def __init__(self, text: str, parent: QGraphicsItem) -> None:
        super().__init__(text, parent)
        self._locked = False
        self.set_locked(False)

    def set_locked(self, state: bool = False) -> None:
        """As NodeTextItem: an unlocked title says it can be renamed (cursor and tooltip)."""
        self._locked = state
        self.setCursor(Qt.CursorShape.ArrowCursor if state else Qt.CursorShape.IBeamCursor)
        self.setToolTip("" if state else "double-click to edit node name.")

    def set_editable(self, value: bool = False) -> None:
        node = self.parentItem()
        viewer = node.viewer() if node is not None and node.scene() is not None else None
        edit = getattr(viewer, "edit_node_title", None)
        if value and not self._locked and edit is not None:
            edit(node.id)

    def setFocus(self, *args: Any) -> None:  # noqa: N802 - Qt's name
        """The rename box takes the focus; the title itself never edits."""


def elided_line(text: str, metrics: QFontMetrics, width: int) -> str:
    """`text` on one line (runs of white space made one space), elided to `width` pixels: what
    `metrics.elidedText` gives for the whole text, but only a prefix is laid out. A run's
    previews are up to thousands of characters of JSON, and eliding them whole was a third of
    the work of showing a batch of 200 statuses. No character is narrower than a pixel, so a
    prefix of `width + 2` characters that is already too wide elides to the same line."""
    limit = width + 2
    head = " ".join(text[: 8 * limit].split())
    if len(head) > limit and metrics.horizontalAdvance(head[:limit]) > width:
        head = head[:limit]
    else:
        head = " ".join(text.split())
    return metrics.elidedText(head, Qt.TextElideMode.ElideRight, width)
