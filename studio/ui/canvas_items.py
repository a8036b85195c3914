"""The canvas's own scene items beside the nodes: run status badges, sticky notes and the "+"
of add-next."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from qtpy.QtCore import QEvent, QPointF, QRectF, Qt
from qtpy.QtGui import QBrush, QColor, QFont, QFontMetrics, QFontMetricsF, QPainter, QPainterPath, QPen
from qtpy.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsSimpleTextItem, QGraphicsTextItem

from studio.flow.models import Note, Position

from .canvas_labels import elided_line
from .theme import STATUS_COLORS, current_theme

if TYPE_CHECKING:
    from .canvas import FlowCanvas

log = logging.getLogger(__name__)


class _Badge(QGraphicsPathItem):
    """A status pill drawn above a node's top-right corner: a rounded rect in the status's
    colour with the status in white, right-aligned in a 78 x 16 box. Both parts are Qt's own
    items, shaped when the status changes: a run repaints the canvas around 200 badges many
    times, and a Python `paint` per badge per repaint was most of the window's longest stall."""

    WIDTH, HEIGHT = 78, 16

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.status = ""
        self.setZValue(10)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        font = QFont()
        font.setPointSizeF(7.5)
        font.setBold(True)
        self.label = QGraphicsSimpleTextItem(self)
        self.label.setFont(font)
        self.label.setBrush(QColor("white"))
        self.setVisible(False)
        self.set_proxy(getattr(parent, "_proxy_mode", False))

    def set_proxy(self, mode: bool) -> None:
        """Zoomed so far out that the node's own labels hide, the pill shows without its text."""
        self.label.setVisible(not mode)

    def set_status(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        self.setVisible(bool(status))
        if not status:
            return
        path, colour, at = self._shape(status, self.label.font())
        self.setPath(path)
        self.setBrush(colour)
        self.label.setText(status)
        self.label.setPos(at)

    _shapes: dict[str, tuple[QPainterPath, QColor, QPointF]] = {}  # status -> pill, colour, text position

    @classmethod
    def _shape(cls, status: str, font: QFont) -> tuple[QPainterPath, QColor, QPointF]:
        shape = cls._shapes.get(status)
        if shape is None:
            metrics = QFontMetricsF(font)
            width = metrics.horizontalAdvance(status) + 16
            left = cls.WIDTH - width
            path = QPainterPath()
            path.addRoundedRect(QRectF(left, 0, width, cls.HEIGHT), 8, 8)
            shape = cls._shapes[status] = (path, QColor(STATUS_COLORS.get(status, "#8a94a0")),
                                           QPointF(left + 8, (cls.HEIGHT - metrics.height()) / 2))
        return shape


class PreviewLine(QGraphicsSimpleTextItem):
    """The line under a node: what its last run gave (or why it failed), in short. Hidden, like
    the node's own labels, while the node is drawn as a plain box (zoomed far out): 200 of them
    redrawn at 2 % was a third of a repaint during a run. Meanwhile a new preview is only kept,
    and elided when the node is drawn in full again or `shown` is asked for (a run's end
    replaces every node's preview at once)."""

    _metrics: QFontMetrics | None = None  # of the one font every preview line uses

    def __init__(self, parent: QGraphicsItem, colour: str) -> None:
        super().__init__(parent)
        font = QFont()
        font.setPointSizeF(7.5)
        self.setFont(font)
        self.setBrush(QColor(colour))
        self._text = ""  # what the item shows
        self._pending: tuple[str, int] | None = None  # (text, width) not elided yet
        self._source: tuple[str, int] | None = None  # the (text, width) `_text` was elided from
        self.setVisible(False)

    @property
    def shown(self) -> str:
        """The line as it shows (or will once the node is drawn in full)."""
        self._elide_pending()
        return self._text

    def show_preview(self, text: str, width: int) -> None:
        """`text` on one line, elided to `width` pixels (the line it shows already: nothing to do;
        a run's end gives every node the preview its last event gave)."""
        if self._pending is None and (text, width) == self._source:
            return
        self._pending = (text, width)
        self._update(getattr(self.parentItem(), "_proxy_mode", False))

    def show_text(self, text: str) -> None:
        self._pending = None
        self._source = None
        self._text = text
        self.setText(text)
        self._update(getattr(self.parentItem(), "_proxy_mode", False))

    def set_proxy(self, mode: bool) -> None:
        self._update(mode)

    def _update(self, proxy: bool) -> None:
        if not proxy:
            self._elide_pending()
        has_text = bool(self._pending[0].strip()) if self._pending is not None else bool(self._text)
        self.setVisible(has_text and not proxy)

    def _elide_pending(self) -> None:
        if self._pending is None:
            return
        text, width = self._pending
        self._pending = None
        self._source = (text, width)
        if PreviewLine._metrics is None:
            PreviewLine._metrics = QFontMetrics(self.font())
        self._text = elided_line(text, PreviewLine._metrics, width)
        self.setText(self._text)


class InPlaceText(QGraphicsTextItem):
    """Text on the canvas edited where it is (a sticky note, a group's title): double-click
    starts, leaving it (or Ctrl+Enter; Enter too when `single_line`) commits through
    `on_commit`, Escape cancels. While editing, keys are text, not the canvas's shortcuts."""

    def __init__(self, parent: QGraphicsItem, on_commit: Callable[[str], None], single_line: bool = False) -> None:
        super().__init__(parent)
        self.on_commit = on_commit
        self.single_line = single_line
        self.placeholder = ""
        self.value = ""
        self.editing = False

    def show_value(self, value: str, placeholder: str = "") -> None:
        self.value, self.placeholder = value, placeholder
        if not self.editing:
            self.setPlainText(value or placeholder)

    def start(self) -> None:
        self.editing = True
        self.setPlainText(self.value)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        cursor = self.textCursor()
        cursor.select(cursor.SelectionType.Document)
        self.setTextCursor(cursor)

    def finish(self, keep: bool = True) -> None:
        if not self.editing:
            return
        self.editing = False
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        text = self.toPlainText()
        cursor = self.textCursor()
        cursor.clearSelection()
        self.setTextCursor(cursor)
        self.clearFocus()
        if keep and text != self.value:
            self.on_commit(text)
        else:
            self.setPlainText(self.value or self.placeholder)

    def sceneEvent(self, event: Any) -> bool:  # noqa: N802 - Qt's name
        if self.editing and event.type() == QEvent.Type.ShortcutOverride:
            event.accept()  # D, F, Delete ... are typed, not canvas commands
            return True
        return super().sceneEvent(event)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.finish(keep=False)
            return
        enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and (self.single_line or event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.finish()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        self.finish()


class StickyNote(QGraphicsRectItem):
    """A sticky comment: drag to move it, double-click to write in it where it is."""

    def __init__(self, canvas: "FlowCanvas", note: Note) -> None:
        super().__init__(0, 0, note.width, note.height)
        self.canvas = canvas
        self.note_id = note.id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(-5)
        self.text = InPlaceText(self, lambda text: canvas.document.set_note(self.note_id, text=text))
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
        self.text.show_value(note.text, "Double-click to write a note")

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().mouseReleaseEvent(event)
        pos = self.pos()
        self.canvas.document.set_note(self.note_id, position=Position(x=pos.x(), y=pos.y()))

    def mouseDoubleClickEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.text.start()


class AddNextButton(QGraphicsItem):
    """The "+" beside an output port of the selected node (n8n's add-next): a click opens quick
    add, and the node chosen is added after this one, wired from this port."""

    SIZE = 16.0

    def __init__(self, parent: QGraphicsItem, port_key: str, on_click: Callable[[str], None]) -> None:
        super().__init__(parent)
        self.port_key = port_key
        self.on_click = on_click
        self.setZValue(20)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Add a node after this one, wired from {port_key!r}")
        self._hover = False

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(0, 0, self.SIZE, self.SIZE)

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        theme = current_theme()
        painter.setPen(QPen(QColor(theme.muted), 1.2))
        painter.setBrush(QColor("#3b82f6") if self._hover else QColor(theme.node_body))
        painter.drawRoundedRect(self.boundingRect().adjusted(1, 1, -1, -1), 4, 4)
        painter.setPen(QPen(QColor("white") if self._hover else QColor(theme.node_text), 1.6))
        mid = self.SIZE / 2
        painter.drawLine(QPointF(mid, 4), QPointF(mid, self.SIZE - 4))
        painter.drawLine(QPointF(4, mid), QPointF(self.SIZE - 4, mid))

    def hoverEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._hover = False
        self.update()

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        event.accept()  # not a drag of the node under it

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if self.boundingRect().contains(event.pos()):
            self.on_click(self.port_key)
        event.accept()
