"""Groups on the canvas: coloured frames around related nodes (ComfyUI's groups, n8n's and
Rivet's frames). Dragging a frame by its title bar or body moves the nodes inside it with it,
as one undo step; the corner handle resizes it; double-clicking the title renames it in place.
Frames are saved in the flow document (`groups`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QGraphicsItem, QGraphicsRectItem

from studio.flow.models import Group, Position

from .canvas_items import InPlaceText

if TYPE_CHECKING:
    from .canvas import FlowCanvas

GROUP_COLORS = ["#3b82f6", "#22c55e", "#f59e0b", "#a855f7", "#ef4444", "#14b8a6"]
TITLE_HEIGHT = 28.0
HANDLE = 14.0
MIN_SIZE = (160.0, 90.0)
MARGIN = 30.0  # around the nodes a new group frames


class GroupFrame(QGraphicsRectItem):
    def __init__(self, canvas: FlowCanvas, group: Group) -> None:
        super().__init__(0, 0, group.width, group.height)
        self.canvas = canvas
        self.group_id = group.id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(-20)  # under notes and nodes
        self.title = InPlaceText(self, lambda text: canvas.document.set_group(self.group_id, title=" ".join(text.split())
                                                                              or "Group"), single_line=True)
        font = QFont()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setPos(8, 2)
        self._inside: dict[str, QPointF] = {}
        self._start = QPointF()
        self._resizing = False
        self.update_from(group)

    def update_from(self, group: Group) -> None:
        self.color = QColor(group.color)
        self.setRect(0, 0, group.width, group.height)
        self.setPos(group.position.x, group.position.y)
        self.title.setDefaultTextColor(QColor("white"))
        self.title.setTextWidth(max(40.0, group.width - 16))
        self.title.show_value(group.title)
        self.update()

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        rect = self.rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(self.color)
        fill.setAlpha(38)
        painter.setBrush(QBrush(fill))
        pen = QPen(self.color.lighter(130) if self.isSelected() else self.color, 2 if self.isSelected() else 1.2)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, 6, 6)
        bar = QColor(self.color)
        bar.setAlpha(200)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bar)
        painter.drawRoundedRect(QRectF(rect.left(), rect.top(), rect.width(), TITLE_HEIGHT), 6, 6)
        painter.setBrush(self.color)
        r = rect.bottomRight()
        painter.drawPolygon(QPolygonF([r, QPointF(r.x() - HANDLE, r.y()), QPointF(r.x(), r.y() - HANDLE)]))

    def _on_handle(self, pos: QPointF) -> bool:
        r = self.rect().bottomRight()
        return r.x() - HANDLE * 1.5 <= pos.x() <= r.x() and r.y() - HANDLE * 1.5 <= pos.y() <= r.y()

    def nodes_inside(self) -> list[str]:
        """Ids of the nodes whose centre is inside the frame (they move with it)."""
        area = self.sceneBoundingRect()
        return [nid for nid, view in self.canvas._views.items() if area.contains(view.view.sceneBoundingRect().center())]

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton and self._on_handle(event.pos()):
            self._resizing = True
            event.accept()
            return
        self._inside = {nid: self.canvas._views[nid].view.pos() for nid in self.nodes_inside()}
        self._start = self.pos()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if self._resizing:
            self.prepareGeometryChange()
            self.setRect(0, 0, max(MIN_SIZE[0], event.pos().x()), max(MIN_SIZE[1], event.pos().y()))
            return
        super().mouseMoveEvent(event)
        delta = self.pos() - self._start
        for nid, start in self._inside.items():
            view = self.canvas._views.get(nid)
            if view is not None:
                view.view.setPos(start + delta)

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if self._resizing:
            self._resizing = False
            self.canvas.document.set_group(self.group_id, width=self.rect().width(), height=self.rect().height())
            return
        super().mouseReleaseEvent(event)
        delta = self.pos() - self._start
        if delta.manhattanLength() > 0:
            moved = {nid: (start.x() + delta.x(), start.y() + delta.y()) for nid, start in self._inside.items()}
            self.canvas.document.set_group(self.group_id, nodes=moved,
                                           position=Position(x=self.pos().x(), y=self.pos().y()))
        self._inside = {}

    def mouseDoubleClickEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.pos().y() - self.rect().top() <= TITLE_HEIGHT:
            self.title.start()


class CanvasGroups:
    """Groups of FlowCanvas (mixed in)."""

    def _sync_groups(self: FlowCanvas) -> None:
        scene = self.viewer.scene()
        groups = {g.id: g for g in self.document.flow.groups}
        for gid in list(self._groups):
            if gid not in groups:
                scene.removeItem(self._groups.pop(gid))
        for gid, group in groups.items():
            if gid in self._groups:
                self._groups[gid].update_from(group)
            else:
                item = GroupFrame(self, group)
                scene.addItem(item)
                self._groups[gid] = item

    def add_group(self: FlowCanvas, title: str = "Group") -> str:
        """A frame around the selected nodes, or an empty one in the middle of the view."""
        rect = QRectF()
        for nid in self.selected_ids():
            rect = rect.united(self._views[nid].view.sceneBoundingRect())
        if rect.isEmpty():
            centre = self.viewer.mapToScene(self.viewer.viewport().rect().center())
            rect = QRectF(centre.x() - 200, centre.y() - 120, 400, 240)
        else:
            rect = rect.adjusted(-MARGIN, -MARGIN - TITLE_HEIGHT, MARGIN, MARGIN)
        color = GROUP_COLORS[len(self.document.flow.groups) % len(GROUP_COLORS)]
        group = Group(title=title, color=color, position=Position(x=rect.x(), y=rect.y()),
                      width=rect.width(), height=rect.height())
        self.document.add_group(group)
        return group.id

    def selected_group_ids(self: FlowCanvas) -> list[str]:
        return [gid for gid, item in self._groups.items() if item.isSelected()]
