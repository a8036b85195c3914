"""NodeGraphQt, adapted: node items that draw once and share icons, node classes per kind,
and a graph whose gestures go to the canvas (and so the document) instead of NodeGraphQt's own
undo stack, which keeps no history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections import OrderedDict

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.constants import ICON_NODE_BASE, NodeEnum, PortTypeEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.node_overlay_disabled import XDisabledItem
from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QFontMetrics, QPainter, QPixmap, QPolygonF, QUndoCommand, QUndoStack
from qtpy.QtWidgets import QGraphicsPixmapItem

from .canvas_labels import NodeLabel, TitleLabel
from .theme import KIND_COLORS

if TYPE_CHECKING:
    from .canvas import FlowCanvas


TITLE_MAX_PX = 180  # widest node title drawn; longer names are elided


class _FlowNodeItem(NodeItem):
    """NodeGraphQt redraws a node after every port, icon and colour it gets (7 times a node);
    while `hold_drawing` is set the canvas builds nodes without drawing and draws each once.
    Its title and port names are plain text items (canvas_labels), not QTextDocuments."""

    hold_drawing = False
    _pixmaps: dict[str, QPixmap] = {}  # icon path -> scaled pixmap, shared by every node

    def __init__(self, name: str = "node", parent=None) -> None:
        """NodeItem.__init__ (NodeGraphQt 0.6.44) with a TitleLabel for its NodeTextItem and the
        shared default icon instead of one loaded and scaled per node."""
        AbstractNodeItem.__init__(self, name, parent)
        self._properties["icon"] = ICON_NODE_BASE
        self._icon_item = QGraphicsPixmapItem(self._pixmap(ICON_NODE_BASE), self)
        self._icon_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._text_item = TitleLabel(self.name, self)
        self._x_item = XDisabledItem(self, "DISABLED")
        self._input_items = OrderedDict()
        self._output_items = OrderedDict()
        self._widgets = OrderedDict()
        self._proxy_mode = False
        self._proxy_mode_threshold = 70

    def _add_port(self, port):
        """NodeItem._add_port with a NodeLabel for the port's name (same font, place and size)."""
        text = NodeLabel(port.name, self)
        text.setVisible(port.display_name)
        if port.port_type == PortTypeEnum.IN.value:
            self._input_items[port] = text
        elif port.port_type == PortTypeEnum.OUT.value:
            self._output_items[port] = text
        if self.scene():
            self.post_init()
        return port

    def draw_node(self) -> None:
        if not _FlowNodeItem.hold_drawing:
            super().draw_node()

    def set_proxy_mode(self, mode: bool) -> None:
        """Zoomed out so far that NodeGraphQt drops a node's labels, its ports (2-pixel dots
        then) are hidden too: a whole 1000-node flow paints in a third less time. So are the
        canvas's preview line and badge text (items with `set_proxy`)."""
        changed = mode is not self._proxy_mode
        super().set_proxy_mode(mode)
        if changed:
            for port in (*self._input_items, *self._output_items):
                port.setVisible(not mode)
            for child in self.childItems():  # the canvas's status badge and preview line
                set_proxy = getattr(child, "set_proxy", None)
                if set_proxy is not None:
                    set_proxy(mode)

    @property
    def name(self) -> str:
        return AbstractNodeItem.name.fget(self)

    @name.setter
    def name(self, name: str = "") -> None:
        """The full name is the node's; the title shows it elided to TITLE_MAX_PX, so a long name
        does not make a node as wide as the canvas (the full name is in the node's tooltip)."""
        AbstractNodeItem.name.fset(self, name)
        shown = QFontMetrics(self._text_item.font()).elidedText(name, Qt.TextElideMode.ElideRight, TITLE_MAX_PX)
        if shown == self._text_item.toPlainText():
            return
        self._text_item.setPlainText(shown)
        if self.scene() and not _FlowNodeItem.hold_drawing:
            self.draw_node()  # the node's width follows its title, and its wires its ports
            for port in (*self._input_items, *self._output_items):
                for pipe in port.connected_pipes:
                    pipe.draw_path(pipe.input_port, pipe.output_port)
        self.update()

    @property
    def icon(self) -> str | None:
        return self._properties["icon"]

    @icon.setter
    def icon(self, path: str | None = None) -> None:
        """NodeItem's setter, but each icon file is loaded and scaled once, not once per node."""
        self._properties["icon"] = path
        self._icon_item.setPixmap(self._pixmap(path or ICON_NODE_BASE))
        if self.scene():
            self.post_init()
        self.update()

    @classmethod
    def _pixmap(cls, path: str) -> QPixmap:
        pixmap = cls._pixmaps.get(path)
        if pixmap is None:
            pixmap = QPixmap(path)
            size = NodeEnum.ICON_SIZE.value
            if pixmap.height() > size:
                pixmap = pixmap.scaledToHeight(size, Qt.TransformationMode.SmoothTransformation)
            if pixmap.width() > size:
                pixmap = pixmap.scaledToWidth(size, Qt.TransformationMode.SmoothTransformation)
            cls._pixmaps[path] = pixmap
        return pixmap


class FlowNodeBase(BaseNode):
    __identifier__ = "flowstudio"
    NODE_NAME = "Node"
    ICON: str | None = None  # set by the canvas: the kind's icon, loaded once with the node

    def __init__(self) -> None:
        super().__init__(_FlowNodeItem)
        if self.ICON:
            self.model.icon = self.ICON


class TriggerNode(FlowNodeBase):
    NODE_NAME = "Trigger"


class ActionNode(FlowNodeBase):
    NODE_NAME = "Action"


class AgentNode(FlowNodeBase):
    NODE_NAME = "Agent"


NODE_CLASSES = {"trigger": TriggerNode, "action": ActionNode, "agent": AgentNode}


def kind_icon(kind: str) -> str:
    """Path of a small icon for a node kind (drawn once into the cache folder)."""
    from studio.paths import cache_dir

    path = cache_dir() / f"node-{kind}-v1.png"
    if path.exists():
        return str(path)
    pix = QPixmap(36, 36)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(KIND_COLORS.get(kind, "#888888"))
    p.setBrush(colour)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(0, 0, 36, 36), 9, 9)
    p.setBrush(QColor("white"))
    if kind == "trigger":  # a lightning bolt
        p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in
                                 [(20, 5), (9, 20), (17, 20), (14, 31), (27, 14), (19, 14), (22, 5)]]))
    elif kind == "agent":  # a small robot head
        p.drawRoundedRect(QRectF(8, 11, 20, 17), 4, 4)
        p.drawRect(QRectF(17, 5, 2, 6))
        p.setBrush(colour)
        p.drawEllipse(QRectF(12, 16, 4, 4))
        p.drawEllipse(QRectF(20, 16, 4, 4))
    else:  # a play/step arrow
        p.drawPolygon(QPolygonF([QPointF(12, 8), QPointF(28, 18), QPointF(12, 28)]))
    p.end()
    pix.save(str(path))
    return str(path)


class _DiscardingUndoStack(QUndoStack):
    """The undo stack handed to NodeGraphQt: its commands run at once and are never kept, so the
    graph has no history of its own (the document's QUndoStack is the only one) and its Undo
    action, which would claim Ctrl+Z too, never becomes enabled."""

    def push(self, cmd: QUndoCommand) -> None:
        cmd.redo()

    def beginMacro(self, text: str) -> None:  # noqa: N802 - Qt's name
        return

    def endMacro(self) -> None:  # noqa: N802 - Qt's name
        return


class _Graph(NodeGraph):
    """Routes the viewer's gestures to the canvas instead of NodeGraphQt's own undo stack."""

    def bind(self, canvas: "FlowCanvas") -> None:
        self._canvas = canvas

    def _on_connection_changed(self, disconnected, connected):  # noqa: D401 - NodeGraphQt slot
        self._canvas._gesture_wires(disconnected, connected)

    def _on_connection_sliced(self, ports):
        self._canvas._gesture_wires(ports, [])

    def _on_nodes_moved(self, node_data):
        self._canvas._gesture_moved(node_data)

    def _on_node_name_changed(self, node_id, name):
        self._canvas._gesture_renamed(node_id, name)

    def _on_search_triggered(self, node_type, pos):
        return

    def _on_insert_node(self, pipe, node_id, prev_node_pos):
        return

    _bulk_names: set[str] | None = None  # names given so far while the canvas rebuilds

    def get_unique_name(self, name):
        """NodeGraphQt lists every node's name for each new node (quadratic on open); while the
        canvas rebuilds, names it has not handed out yet are taken as they are."""
        if self._bulk_names is not None:
            name = " ".join(name.split())
            if name not in self._bulk_names:
                self._bulk_names.add(name)
                return name
        unique = super().get_unique_name(name)
        if self._bulk_names is not None:
            self._bulk_names.add(unique)
        return unique
