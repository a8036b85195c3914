"""The canvas: a NodeGraphQt graph that only DISPLAYS the FlowDocument.

User gestures on the graph (drop a node, drag a wire, move, rename) are turned into undoable
FlowDocument edits; the document's signals then update the graph. NodeGraphQt's own undo stack
and session format are never used. Nodes carry no embedded widgets (fields live in the property
panel), so large flows open quickly."""

from __future__ import annotations

import gc
import json
import logging
import re
from collections import defaultdict
from typing import Any, Callable

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.constants import ICON_NODE_BASE, NodeEnum, PortTypeEnum, ViewerEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.port import PortItem
from qtpy.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, QSizeF, Qt, Signal
from qtpy.QtGui import (
    QAction,
    QBrush,
    QColor,
    QCursor,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QUndoCommand,
    QUndoStack,
)
from qtpy.QtWidgets import (
    QApplication,
    QFrame,
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QGraphicsView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
)

from studio.catalog.catalog import Catalog
from studio.catalog.models import Action
from studio.flow.models import NAME_PATTERN, Endpoint, Node, Note, Position, Wire, new_id

from .document import FlowDocument
from .palette import QuickAdd, action_from_mime
from .theme import KIND_COLORS, STATUS_COLORS, Theme, current_theme, hex_rgb

log = logging.getLogger(__name__)

CLIPBOARD_MIME = "application/x-flow-studio-nodes"
PORT_COLORS = {"any": "#9aa3ad", "agent": "#b57cf2", "tool": "#2bb5a5", "mcp_server": "#e08a3c"}
PREVIEW_CHARS = 60
LAYOUT_DX, LAYOUT_DY = 300.0, 150.0
ZOOM_STEP = 1.2
ZOOM_MIN_SCALE, ZOOM_MAX_SCALE = 0.05, 3.0  # NodeGraphQt's own wheel limits
PLACE_GAP = 40.0  # free space kept around a node placed by the editor



def _color_kind(action: Action | None) -> str:
    """The colour family of a node: its kind, or `unsupported` for imported placeholders."""
    if action is None:
        return "action"
    return "unsupported" if action.category == "Unsupported" else action.kind

class _FlowNodeItem(NodeItem):
    """NodeGraphQt redraws a node after every port, icon and colour it gets (7 times a node);
    while `hold_drawing` is set the canvas builds nodes without drawing and draws each once."""

    hold_drawing = False
    _pixmaps: dict[str, QPixmap] = {}  # icon path -> scaled pixmap, shared by every node

    def draw_node(self) -> None:
        if not _FlowNodeItem.hold_drawing:
            super().draw_node()

    def set_proxy_mode(self, mode: bool) -> None:
        """Zoomed out so far that NodeGraphQt drops a node's labels, its ports (2-pixel dots
        then) are hidden too: a whole 1000-node flow paints in a third less time."""
        changed = mode is not self._proxy_mode
        super().set_proxy_mode(mode)
        if changed:
            for port in (*self._input_items, *self._output_items):
                port.setVisible(not mode)

    @property
    def icon(self) -> str | None:
        return self._properties["icon"]

    @icon.setter
    def icon(self, path: str | None = None) -> None:
        """NodeItem's setter, but each icon file is loaded and scaled once, not once per node."""
        self._properties["icon"] = path
        key = path or ICON_NODE_BASE
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            pixmap = QPixmap(key)
            size = NodeEnum.ICON_SIZE.value
            if pixmap.height() > size:
                pixmap = pixmap.scaledToHeight(size, Qt.TransformationMode.SmoothTransformation)
            if pixmap.width() > size:
                pixmap = pixmap.scaledToWidth(size, Qt.TransformationMode.SmoothTransformation)
            self._pixmaps[key] = pixmap
        self._icon_item.setPixmap(pixmap)
        if self.scene():
            self.post_init()
        self.update()


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


def output_ports(action: Action | None, node: Node) -> list[tuple[str, str]]:
    """(key, type) of the node's output ports: the catalog's, the branch names for dynamic nodes,
    and `error` when the node routes its errors."""
    if action is None:
        ports: list[tuple[str, str]] = [("output", "any")]
    elif action.dynamic_outputs_from:
        branches = node.values.get(action.dynamic_outputs_from)
        keys: list[str] = []
        if isinstance(branches, dict):
            keys = [str(k) for k in branches]
        elif isinstance(branches, list):
            keys = [str(b.get("key")) for b in branches if isinstance(b, dict) and b.get("key")]
        ports = [(k, "any") for k in keys] + [(o.key, o.type) for o in action.outputs]
    else:
        ports = [(o.key, o.type) for o in action.outputs]
    if node.on_error == "route":
        ports.append(("error", "any"))
    return ports


def input_ports(action: Action | None) -> list[tuple[str, str, bool]]:
    """(key, accepted type, multiple) of the node's input ports: `in` unless a trigger, then
    every input the catalog marks as a port."""
    if action is not None and action.kind == "trigger":
        ports: list[tuple[str, str, bool]] = []
    else:
        ports = [("in", "any", True)]
    if action is not None:
        ports += [(i.key, i.accepts, i.multiple) for i in action.inputs if i.port]
    return ports


def auto_layout(flow) -> dict[str, tuple[float, float]]:
    """Columns by longest path from the flow's sources, rows in flow order within a column."""
    incoming: dict[str, list[str]] = defaultdict(list)
    for w in flow.wires:
        incoming[w.target.node].append(w.source.node)
    layer: dict[str, int] = {}

    def depth(nid: str, seen: frozenset = frozenset()) -> int:
        if nid in layer:
            return layer[nid]
        if nid in seen:
            return 0
        parents = [p for p in incoming.get(nid, []) if p != nid]
        layer[nid] = 0 if not parents else 1 + max(depth(p, seen | {nid}) for p in parents)
        return layer[nid]

    rows: dict[int, int] = defaultdict(int)
    positions: dict[str, tuple[float, float]] = {}
    for n in flow.nodes:
        col = depth(n.id)
        positions[n.id] = (col * LAYOUT_DX, rows[col] * LAYOUT_DY)
        rows[col] += 1
    return positions


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


class _InlineRename(QLineEdit):
    """Rename a node in place (F2, or the node menu's Rename): Enter or leaving the field renames
    it through the document (so expressions reading it follow), Escape cancels."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer)
        self.canvas = canvas
        self.node_id: str | None = None
        self.setObjectName("inline_rename")
        self.hide()
        self.editingFinished.connect(self.commit)

    def start(self, nid: str) -> None:
        view = self.canvas._views[nid].view
        rect = self.canvas.viewer.mapFromScene(view.sceneBoundingRect()).boundingRect()
        self.node_id = nid
        self.setText(self.canvas.document.node(nid).name)
        self.setGeometry(rect.left(), max(0, rect.top() - 2), max(rect.width(), 160), self.sizeHint().height())
        self.show()
        self.raise_()
        self.selectAll()
        self.setFocus()

    def commit(self) -> None:
        nid, self.node_id = self.node_id, None
        if nid is None:
            return
        self.hide()
        if nid in self.canvas._views:
            self.canvas.rename(nid, self.text())
        self.canvas.viewer.setFocus()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.node_id = None
            self.hide()
            self.canvas.viewer.setFocus()
            return
        super().keyPressEvent(event)


class _FindBox(QFrame):
    """Ctrl+F on the canvas: matches node names and action titles as you type; Enter (or a click)
    selects the match and centres the view on it; Escape closes."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer)
        self.canvas = canvas
        self.setObjectName("find_box")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find node (name or action)…")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setMaximumHeight(170)
        layout.addWidget(self.search)
        layout.addWidget(self.results)
        self.setFixedWidth(300)
        self.search.textChanged.connect(self.refill)
        self.search.returnPressed.connect(self.choose)
        self.results.itemActivated.connect(lambda _i: self.choose())
        self.results.itemClicked.connect(lambda _i: self.choose())
        self.search.installEventFilter(self)
        self.hide()

    def open(self) -> None:
        self.refill(self.search.text())
        self.show()
        self.raise_()
        self.search.selectAll()
        self.search.setFocus()

    def refill(self, text: str) -> None:
        self.results.clear()
        for nid in self.canvas.find_nodes(text):
            node = self.canvas.document.node(nid)
            action = self.canvas._action(node)
            item = QListWidgetItem(f"{node.name}   ·  {action.title if action else node.action}")
            item.setData(Qt.ItemDataRole.UserRole, nid)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)
        elif text.strip():
            item = QListWidgetItem("No node matches")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.results.addItem(item)
        rows = min(self.results.count(), 8)
        self.results.setFixedHeight(rows * max(self.results.sizeHintForRow(0), 16) + 2 * self.results.frameWidth())
        self.results.setVisible(bool(text.strip()))
        self.adjustSize()

    def choose(self) -> str | None:
        item = self.results.currentItem()
        nid = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if nid is None:
            return None
        self.canvas.select([nid])
        self.canvas.centre_on(nid)
        self.close_box()
        return nid

    def close_box(self) -> None:
        self.hide()
        self.canvas.viewer.setFocus()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape:
                self.close_box()
                return True
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.results.count():
                row = self.results.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
                self.results.setCurrentRow(max(0, min(self.results.count() - 1, row)))
                return True
        return super().eventFilter(obj, event)


class _ZoomBar(QFrame):
    """−, percent, +, fit: bottom-right of the canvas."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer)
        self.setObjectName("zoom_bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 2, 2, 2)
        row.setSpacing(2)
        self.out_button = QToolButton(text="−", toolTip="Zoom out (Ctrl+-)")
        self.in_button = QToolButton(text="+", toolTip="Zoom in (Ctrl++)")
        self.fit_button = QToolButton(text="Fit", toolTip="Fit the flow in view (F)")
        self.label = QLabel("100%")
        self.label.setObjectName("zoom_percent")
        self.label.setMinimumWidth(44)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setToolTip("Zoom (click to reset to 100%)")
        for w in (self.out_button, self.label, self.in_button, self.fit_button):
            row.addWidget(w)
        self.out_button.clicked.connect(lambda: canvas.zoom_by(1 / ZOOM_STEP))
        self.in_button.clicked.connect(lambda: canvas.zoom_by(ZOOM_STEP))
        self.fit_button.clicked.connect(canvas.fit)
        self.label.mousePressEvent = lambda _e: canvas.set_zoom_percent(100)
        self.adjustSize()


class _Minimap(QGraphicsView):
    """The whole flow, small, over the same scene, with the visible part outlined; click or drag
    to move the view there. Nodes are drawn as plain boxes (no item painting), so it costs little
    on large flows."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer.scene(), canvas.viewer)
        self.canvas = canvas
        self.setObjectName("minimap")
        self.setFixedSize(180, 110)
        self.setInteractive(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setToolTip("Minimap: click to move the view")
        self._area = QRectF()
        self._flow = QRectF()  # the flow's extent when the boxes were last drawn
        self._boxes: QPixmap | None = None  # the node boxes, drawn again only when the flow changed
        self.rects: dict[str, QRectF] = {}  # node id -> rect drawn

    def refresh(self, content: bool = False) -> None:
        """Follow the main view; `content`: the flow changed (nodes added, moved, removed)."""
        if not self.isVisible():
            return
        if content or self._boxes is None:
            self._flow = self.canvas.flow_rect()
            self._boxes = None
        area = self._flow.united(self.canvas.visible_rect()).adjusted(-40, -40, 40, 40)
        if area != self._area:
            self._area = area
            self._boxes = None
            self.setSceneRect(area)
            self.fitInView(area, Qt.AspectRatioMode.KeepAspectRatio)
        self.viewport().update()

    def _draw_boxes(self) -> QPixmap:
        pixmap = QPixmap(self.viewport().size())
        pixmap.fill(QColor(self.canvas.theme.canvas).darker(115))
        painter = QPainter(pixmap)
        painter.setTransform(self.viewportTransform())
        painter.setPen(Qt.PenStyle.NoPen)
        note = QColor(self.canvas.theme.note)
        note.setAlpha(140)
        painter.setBrush(note)
        for item in self.canvas._notes.values():
            painter.drawRect(item.sceneBoundingRect())
        views, brushes = self.canvas._views, {k: QColor(c) for k, c in KIND_COLORS.items()}
        self.rects = {}
        for node in self.canvas.document.flow.nodes:  # one pass: document.node() per node would be quadratic
            view = views.get(node.id)
            if view is not None:
                action = self.canvas._action(node)
                painter.setBrush(brushes.get(action.kind if action else "action", QColor("#888888")))
                rect = self.rects[node.id] = view.view.sceneBoundingRect()
                painter.drawRect(rect)
        painter.end()
        return pixmap

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        """The cached boxes, then the visible part outlined (a run's badges cost nothing here)."""
        if self._boxes is None or self._boxes.size() != self.viewport().size():
            self._boxes = self._draw_boxes()
        painter = QPainter(self.viewport())
        painter.drawPixmap(0, 0, self._boxes)
        painter.setTransform(self.viewportTransform())
        pen = QPen(QColor("#ffffff"), 0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 255, 255, 30))
        painter.drawRect(self.canvas.visible_rect())
        painter.end()

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.canvas.pan_to(self.mapToScene(event.pos()))

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.canvas.pan_to(self.mapToScene(event.pos()))

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        event.accept()


class FlowCanvas(QObject):
    """Owns the graph widget; `widget` goes into the main window."""

    selection_changed = Signal(list)  # doc node ids
    message = Signal(str)  # for the status bar (a refused connection ...)
    node_activated = Signal(str)  # double-click: open its output
    run_from_requested = Signal(str)  # node menu: Run from here
    run_only_requested = Signal(str)  # node menu: Run only this node
    pin_requested = Signal(str, bool)  # node menu: Pin output (True) / Unpin (False)

    def __init__(self, document: FlowDocument, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.catalog = catalog
        self._graph_undo = _DiscardingUndoStack()
        self.graph = _Graph(undo_stack=self._graph_undo)
        self.graph.bind(self)
        for cls in NODE_CLASSES.values():
            self.graph.register_node(cls)
        self.graph.set_pipe_collision(False)
        self.graph.set_acyclic(False)
        self.widget = self.graph.widget
        self.viewer = self.graph.viewer()
        self._drop_graph_undo_actions()
        self._views: dict[str, BaseNode] = {}  # doc id -> graph node
        self._doc_ids: dict[str, str] = {}  # graph node id -> doc id
        self._badges: dict[str, _Badge] = {}
        self._previews: dict[str, QGraphicsSimpleTextItem] = {}
        self._statuses: dict[str, str] = {}
        self._notes: dict[str, StickyNote] = {}
        self._syncing = False
        self._quick_add: QuickAdd | None = None
        self._icons = {kind: kind_icon(kind) for kind in NODE_CLASSES}
        for kind, cls in NODE_CLASSES.items():
            cls.ICON = self._icons[kind]

        self.graph.data_dropped.connect(self._on_drop)
        self.graph.node_selection_changed.connect(lambda *_: self.selection_changed.emit(self.selected_ids()))
        self.graph.node_double_clicked.connect(self._on_double_clicked)
        self.viewer.installEventFilter(self)
        document.node_added.connect(self._on_node_added)
        document.node_removed.connect(self._on_node_removed)
        document.node_changed.connect(self._on_node_changed)
        document.wires_changed.connect(self._sync_wires)
        document.notes_changed.connect(self._sync_notes)
        document.reset.connect(self.rebuild)
        # (pinned, has an output to pin) of a node, for the node menu; the window supplies it.
        self.pin_info: Callable[[str], tuple[bool, bool]] | None = None
        self.context_menu: QMenu | None = None
        self._context_actions: list[QAction | None] = []
        self._add_next_from: tuple[str, str] | None = None
        self.apply_theme(current_theme())
        self.rebuild()
        self._build_canvas_actions()
        self._build_overlays()
        self._hook_live_wire()
        self.viewer.viewport().installEventFilter(self)

    def _drop_graph_undo_actions(self) -> None:
        """NodeGraphQt puts its own Undo/Redo (bound to Ctrl+Z/Ctrl+Shift+Z) at the top of the
        canvas context menu; they go, so the window's actions own those keys."""
        menu = self.viewer.context_menus()["graph"]
        for action in (self.viewer.qaction_for_undo(), self.viewer.qaction_for_redo()):
            if action is not None:
                action.setShortcuts([])
                action.setEnabled(False)
                menu.removeAction(action)
        for action in menu.actions():
            if action.isSeparator():
                menu.removeAction(action)

    def set_context_actions(self, actions: list[QAction | None]) -> None:
        """The canvas context menu's entries (None = a separator), e.g. the document's Undo/Redo."""
        self._context_actions = list(actions)
        menu = self.viewer.context_menus()["graph"]
        for action in menu.actions():
            menu.removeAction(action)
        for action in actions:
            menu.addSeparator() if action is None else menu.addAction(action)

    # -- theme -----------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.graph.set_background_color(*hex_rgb(theme.canvas))
        self.graph.set_grid_color(*hex_rgb(theme.grid))
        self.graph.set_grid_mode(ViewerEnum.GRID_DISPLAY_DOTS.value)
        for nid, view in self._views.items():
            self._style_node(view, self._action(self.document.node(nid)))
            preview = self._previews.get(nid)
            if preview is not None:
                preview.setBrush(QColor(theme.muted))
        self._sync_notes()
        self._minimap_dirty = True
        self.viewer.viewport().update()

    def _node_colors(self, kind: str) -> tuple[tuple, tuple, tuple]:
        """(body, border, text) RGBA of a node of `kind` in the current theme."""
        body = QColor(self.theme.node_body)
        accent = QColor(KIND_COLORS[kind])
        mix = 0.22 if self.theme.name == "dark" else 0.12
        r = int(body.red() * (1 - mix) + accent.red() * mix)
        g = int(body.green() * (1 - mix) + accent.green() * mix)
        b = int(body.blue() * (1 - mix) + accent.blue() * mix)
        return (r, g, b, 255), (*hex_rgb(KIND_COLORS[kind]), 255), (*hex_rgb(self.theme.node_text), 255)

    def _style_node(self, view: BaseNode, action: Action | None) -> None:
        body, border, text = self._node_colors(_color_kind(action))
        view.set_property("color", body, push_undo=False)
        view.view.border_color = border
        view.view.text_color = text
        view.view.draw_node()

    # -- document -> graph -------------------------------------------------------------------

    def _action(self, node: Node) -> Action | None:
        return self.catalog.get(node.action) if node.action in self.catalog else None

    def rebuild(self) -> None:
        """Show the document from scratch (open, new, restore): every node is built without
        drawing, then drawn once, then every wire is connected (wires need the drawn ports).

        The cyclic garbage collector is paused meanwhile (the tens of thousands of objects a
        large flow allocates set off full collections that walk every object so far), and what
        is built is then frozen (`gc.freeze`): the canvas lives until the next rebuild, so later
        collections, during the first paint or a run, skip it instead of walking 300,000
        objects each time. The next rebuild unfreezes and, when it dropped a flow, collects it
        once before building (else the old flow's cycles would be frozen again)."""
        collecting = gc.isenabled()
        gc.disable()
        gc.unfreeze()
        self._syncing = True
        try:
            if self._clear():
                gc.collect()
            self._build()
        finally:
            self._syncing = False
            gc.freeze()
            if collecting:
                gc.enable()
        self.graph.clear_undo_stack()

    def _clear(self) -> bool:
        """Drop every node view and note; True when there was anything to drop."""
        dropped = bool(self._views or self._notes)
        for nid in list(self._views):
            self._remove_view(nid)
        for item in list(self._notes.values()):
            self.viewer.scene().removeItem(item)
        self._notes.clear()
        self._statuses.clear()
        return dropped

    def _build(self) -> None:
        self.graph._bulk_names = set()
        _FlowNodeItem.hold_drawing = True
        try:
            for node in self.document.flow.nodes:
                self._create_view(node)
        finally:
            _FlowNodeItem.hold_drawing = False
            self.graph._bulk_names = None
        for nid in self._views:
            self._finish_view(nid)
        self._sync_wires()
        self._sync_notes()

    def _create_view(self, node: Node) -> BaseNode:
        action = self._action(node)
        kind = action.kind if action else "action"
        cls = NODE_CLASSES[kind]
        body, border, text = self._node_colors(_color_kind(action))
        outer = _FlowNodeItem.hold_drawing  # rebuild() draws every node itself afterwards
        _FlowNodeItem.hold_drawing = True
        try:
            view = self.graph.create_node(cls.type_, name=node.name, selected=False, push_undo=False,
                                          pos=[node.position.x, node.position.y], color=body, text_color=text)
            view.view.border_color = border
            view.set_port_deletion_allowed(True)
            for key, accepts, multiple in input_ports(action):
                view.add_input(key, multi_input=multiple, color=hex_rgb(PORT_COLORS.get(accepts, PORT_COLORS["any"])))
            for key, ptype in output_ports(action, node):
                view.add_output(key, multi_output=True, color=hex_rgb(PORT_COLORS.get(ptype, PORT_COLORS["any"])))
            title = action.title if action else f"Unknown action {node.action}"
            view.view.setToolTip(f"{node.name}\n{title}" + (f"\n{action.description[:200]}" if action else ""))
            self._views[node.id] = view
            self._doc_ids[view.id] = node.id
            if node.disabled:
                view.set_disabled(True)
        finally:
            _FlowNodeItem.hold_drawing = outer
        if not outer:
            self._finish_view(node.id)
        return view

    def _finish_view(self, nid: str) -> None:
        """Draw a node built with drawing held, and place its badge and preview."""
        view = self._views[nid]
        view.view.draw_node()
        view.model.width, view.model.height = view.view.width, view.view.height
        self._place_decorations(nid)

    def _decorations(self, nid: str) -> tuple[_Badge, QGraphicsSimpleTextItem]:
        """The node's status badge and preview line, made when a run first shows something on
        it (two fewer items per node to build when a large flow opens)."""
        badge = self._badges.get(nid)
        if badge is None:
            view = self._views[nid]
            badge = _Badge(view.view)
            badge.setVisible(False)
            self._badges[nid] = badge
            preview = QGraphicsSimpleTextItem(view.view)
            preview.setBrush(QColor(self.theme.muted))
            font = QFont()
            font.setPointSizeF(7.5)
            preview.setFont(font)
            preview.setVisible(False)
            self._previews[nid] = preview
            self._place_decorations(nid)
        return badge, self._previews[nid]

    def _place_decorations(self, nid: str) -> None:
        if nid not in self._badges:
            return
        view = self._views[nid]
        rect = view.view.boundingRect()
        self._badges[nid].setPos(rect.right() - 80, rect.top() - 18)
        self._previews[nid].setPos(rect.left() + 4, rect.bottom() + 3)

    def _remove_view(self, nid: str) -> None:
        view = self._views.pop(nid, None)
        if view is None:
            return
        self._doc_ids.pop(view.id, None)
        self._badges.pop(nid, None)
        self._previews.pop(nid, None)
        self.graph.delete_node(view, push_undo=False)

    def _on_node_added(self, nid: str) -> None:
        self._syncing = True
        try:
            self._create_view(self.document.node(nid))
        finally:
            self._syncing = False

    def _on_node_removed(self, nid: str) -> None:
        self._syncing = True
        try:
            self._remove_view(nid)
        finally:
            self._syncing = False

    def _on_node_changed(self, nid: str) -> None:
        view = self._views.get(nid)
        if view is None:
            return
        node = self.document.node(nid)
        self._syncing = True
        try:
            if view.name() != node.name:
                view.set_property("name", node.name, push_undo=False)
            x, y = view.pos()
            if (x, y) != (node.position.x, node.position.y):
                view.set_property("pos", [node.position.x, node.position.y], push_undo=False)
            if view.disabled() != node.disabled:
                view.set_property("disabled", node.disabled, push_undo=False)
            self._sync_outputs(nid, view, node)
        finally:
            self._syncing = False
        self._place_decorations(nid)

    def _sync_outputs(self, nid: str, view: BaseNode, node: Node) -> None:
        """Grow or shrink output ports (Classify and Branch's branches, the error route)."""
        want = output_ports(self._action(node), node)
        have = list(view.outputs())
        if [k for k, _ in want] == have:
            return
        for key in have:
            if key not in [k for k, _ in want]:
                port = view.get_output(key)
                port.clear_connections(push_undo=False, emit_signal=False)
                view.delete_output(port)
        for key, ptype in want:
            if key not in view.outputs():
                view.add_output(key, multi_output=True, color=hex_rgb(PORT_COLORS.get(ptype, PORT_COLORS["any"])))
        view.view.draw_node()
        self._sync_wires()

    def _canvas_wires(self) -> set[tuple[str, str, str, str]]:
        found = set()
        for nid, view in self._views.items():
            for key, port in view.outputs().items():
                for other in port.connected_ports():
                    tid = self._doc_ids.get(other.node().id)
                    if tid is not None:
                        found.add((nid, key, tid, other.name()))
        return found

    def _sync_wires(self) -> None:
        want = {(w.source.node, w.source.port, w.target.node, w.target.port) for w in self.document.flow.wires}
        have = self._canvas_wires()
        self._syncing = True
        try:
            for s, sp, t, tp in have - want:
                self._views[s].get_output(sp).disconnect_from(self._views[t].get_input(tp), push_undo=False,
                                                              emit_signal=False)
            for s, sp, t, tp in sorted(want - have):
                if s not in self._views or t not in self._views:
                    continue
                out, inp = self._views[s].get_output(sp), self._views[t].get_input(tp)
                if out is None or inp is None:
                    continue  # a wire to a port that no longer exists; validation reports it
                out.connect_to(inp, push_undo=False, emit_signal=False)
        finally:
            self._syncing = False

    def _sync_notes(self) -> None:
        scene = self.viewer.scene()
        notes = {n.id: n for n in self.document.flow.notes}
        for nid in list(self._notes):
            if nid not in notes:
                scene.removeItem(self._notes.pop(nid))
        for nid, note in notes.items():
            if nid in self._notes:
                self._notes[nid].update_from(note)
            else:
                item = StickyNote(self, note)
                scene.addItem(item)
                self._notes[nid] = item

    # -- graph gestures -> document ------------------------------------------------------------

    def _endpoint(self, port_item: Any) -> tuple[str, str, str] | None:
        nid = self._doc_ids.get(port_item.node.id)
        return (nid, port_item.name, port_item.port_type) if nid else None

    def _wire_for(self, a: Any, b: Any) -> Wire | None:
        ea, eb = self._endpoint(a), self._endpoint(b)
        if ea is None or eb is None:
            return None
        if ea[2] == "in":
            ea, eb = eb, ea
        return Wire(source=Endpoint(node=ea[0], port=ea[1]), target=Endpoint(node=eb[0], port=eb[1]))

    def port_type(self, wire: Wire) -> tuple[str, str]:
        """(type the source port carries, type the target port accepts)."""
        src = self.document.node(wire.source.node)
        out_type = dict(output_ports(self._action(src), src)).get(wire.source.port, "any")
        tgt_action = self._action(self.document.node(wire.target.node))
        accepts = {k: a for k, a, _ in input_ports(tgt_action)}.get(wire.target.port, "any")
        return out_type, accepts

    def check_wire(self, wire: Wire) -> str | None:
        """Why `wire` may not exist, or None."""
        if wire.source.node == wire.target.node:
            return "A node cannot be wired to itself."
        carries, accepts = self.port_type(wire)
        if carries != accepts:
            src, tgt = self.document.node(wire.source.node), self.document.node(wire.target.node)
            return (f"Cannot connect: {src.name}.{wire.source.port} carries '{carries}' but "
                    f"{tgt.name}.{wire.target.port} accepts '{accepts}'.")
        return None

    def _gesture_wires(self, disconnected: list, connected: list) -> None:
        if self._syncing:
            return
        remove = [w for w in (self._wire_for(a, b) for a, b in disconnected) if w is not None]
        add: list[Wire] = []
        for a, b in connected:
            wire = self._wire_for(a, b)
            if wire is None:
                continue
            problem = self.check_wire(wire)
            if problem:
                self.message.emit(problem)
                self._sync_wires_views()
                return
            add.append(wire)
            # A single-valued input port keeps only its newest wire.
            tgt_action = self._action(self.document.node(wire.target.node))
            multiple = {k: m for k, _, m in input_ports(tgt_action)}.get(wire.target.port, True)
            if not multiple:
                remove += [w for w in self.document.flow.incoming(wire.target.node) if w.target.port == wire.target.port]
        self.document.edit_wires(add=add, remove=remove, text="Connect" if add else "Disconnect")
        self._sync_wires_views()

    def _sync_wires_views(self) -> None:
        """After a refused or partial gesture the viewer may have dropped a pipe item; redraw
        every wire the document still has."""
        for w in self.document.flow.wires:
            s, t = self._views.get(w.source.node), self._views.get(w.target.node)
            if s is None or t is None:
                continue
            out, inp = s.get_output(w.source.port), t.get_input(w.target.port)
            if out is None or inp is None:
                continue
            if inp.view not in out.view.connected_ports:
                self.viewer.establish_connection(out.view, inp.view)

    def _gesture_moved(self, node_data: dict) -> None:
        positions = {}
        for node_view, _prev in node_data.items():
            nid = self._doc_ids.get(node_view.id)
            if nid:
                x, y = node_view.xy_pos
                positions[nid] = (x, y)
        if positions:
            self.document.move_nodes(positions)

    def _gesture_renamed(self, graph_id: str, name: str) -> None:
        nid = self._doc_ids.get(graph_id)
        if nid is not None:
            self.rename(nid, name)

    def _on_drop(self, mime: Any, pos: Any) -> None:
        action_id = action_from_mime(mime)
        if action_id and action_id in self.catalog:
            self.add_action(action_id, (pos.x(), pos.y()), free=True)

    def _on_double_clicked(self, view: BaseNode) -> None:
        nid = self._doc_ids.get(view.id)
        if nid:
            self.node_activated.emit(nid)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.viewer and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:
            self.show_quick_add()
            return True
        if obj is self.viewer and event.type() == QEvent.Type.Resize:
            self._place_overlays()
        elif obj is self.viewer.viewport():
            kind = event.type()
            if kind == QEvent.Type.ContextMenu:
                self.show_context_menu(event.pos())
                return True
            if kind == QEvent.Type.Paint:
                self._after_paint()
        return super().eventFilter(obj, event)

    # -- commands the window calls ---------------------------------------------------------------

    def add_action(self, action_id: str, pos: tuple[float, float] | None = None, *, free: bool = False) -> str:
        """Add a node for `action_id` at scene `pos`; returns its id. Without `pos` it goes at the
        cursor (over the canvas), else beside the selected node, else mid-view, and like `free`
        moves down until it overlaps no other node (still one undo step)."""
        action = self.catalog.get(action_id)
        if pos is None:
            at = self._placement()
            pos, free = (at.x(), at.y()), True
        node = Node(action=action_id, name=self.document.unique_name(action.title.replace("Agent: ", "")),
                    position=Position(x=pos[0], y=pos[1]))
        if not free:
            self.document.add_node(node)
        else:
            stack = self.document.undo_stack
            stack.beginMacro(f"Add {node.name}")
            try:
                self.document.add_node(node)
                spot = self.free_spot(node.id, QPointF(*pos))
                if spot != (node.position.x, node.position.y):
                    self.document.move_nodes({node.id: spot})
            finally:
                stack.endMacro()
        self.select([node.id])
        return node.id

    def show_quick_add(self, at: QPointF | None = None, from_port: tuple[str, str] | None = None) -> None:
        """The quick-add popup: at the cursor, or at scene point `at` (the canvas menu's Add node
        here, a wire dropped on empty canvas). With `from_port` (node id, output port) the new
        node is wired from that port."""
        if self._quick_add is None:
            self._quick_add = QuickAdd(self.catalog, self.viewer)
            self._quick_add.chosen.connect(self._quick_add_chosen)
        self._add_next_from = from_port
        if at is not None:
            self._quick_add_scene_pos = QPointF(at)
            where = self.viewer.viewport().mapToGlobal(self.viewer.mapFromScene(at))
        else:
            where = QCursor.pos()
            self._quick_add_scene_pos = self.viewer.mapToScene(self.viewer.mapFromGlobal(where))
            if not self.viewer.rect().contains(self.viewer.mapFromGlobal(where)):
                self._quick_add_scene_pos = self.viewer.mapToScene(self.viewer.viewport().rect().center())
        self._quick_add.popup(where)

    def _quick_add_chosen(self, action_id: str) -> None:
        p = self._quick_add_scene_pos
        source, self._add_next_from = self._add_next_from, None
        if source is not None and source[0] in self._views:
            self.add_next(source, action_id, p)
        else:
            self.add_action(action_id, (p.x(), p.y()), free=True)

    def add_note(self, text: str = "") -> str:
        centre = self.viewer.mapToScene(self.viewer.viewport().rect().center())
        note = Note(text=text, position=Position(x=centre.x(), y=centre.y()))
        self.document.add_note(note)
        return note.id

    def selected_ids(self) -> list[str]:
        return [self._doc_ids[n.id] for n in self.graph.selected_nodes() if n.id in self._doc_ids]

    def selected_note_ids(self) -> list[str]:
        return [nid for nid, item in self._notes.items() if item.isSelected()]

    def select(self, ids: list[str]) -> None:
        for view in self.graph.selected_nodes():  # not clear_selection(): that visits every node
            view.set_selected(False)
        for nid in ids:
            view = self._views.get(nid)
            if view is not None:
                view.set_selected(True)
        self.selection_changed.emit(self.selected_ids())

    def delete_selected(self) -> None:
        self.document.remove_nodes(self.selected_ids(), self.selected_note_ids())

    def auto_layout(self) -> None:
        self.document.move_nodes(auto_layout(self.document.flow), text="Auto-layout")
        self.fit()

    def fit(self) -> None:
        """Frame the selected nodes, or the whole flow. The rect comes from the items'
        sceneBoundingRect(): NodeGraphQt's center_on/fit_to_selection group and ungroup every
        node to measure them (4 s for 1000 nodes)."""
        if not self._views:
            return
        selected = self.graph.selected_nodes()
        if selected:
            rect = QRectF()
            for view in selected:
                rect = rect.united(view.view.sceneBoundingRect())
            self._frame(rect)
            if self.graph.get_zoom() > 0.1:  # as NodeGraphQt does: never zoom in on a small selection
                self.viewer.reset_zoom(rect.center())
        else:
            self._fit_all()

    def _fit_all(self) -> None:
        rect = QRectF()
        for view in self._views.values():
            rect = rect.united(view.view.sceneBoundingRect())
        for note in self._notes.values():
            rect = rect.united(note.sceneBoundingRect())
        self._frame(rect.adjusted(-80, -80, 80, 80))

    def _frame(self, rect: QRectF) -> None:
        """Show `rect` in the viewer (its scene range drives NodeGraphQt's pan and zoom)."""
        if not rect.isEmpty():
            self.viewer._scene_range = QRectF(rect)
            self.viewer._update_scene()  # setSceneRect + fitInView

    def view_of(self, nid: str) -> BaseNode:
        return self._views[nid]

    def doc_id_of(self, graph_node: BaseNode) -> str:
        return self._doc_ids[graph_node.id]

    # -- copy / paste -----------------------------------------------------------------------------

    def copy_selected(self) -> bool:
        ids = set(self.selected_ids())
        if not ids:
            return False
        flow = self.document.flow
        payload = {
            "nodes": [n.model_dump(mode="json") for n in flow.nodes if n.id in ids],
            "wires": [w.model_dump(mode="json") for w in flow.wires if w.source.node in ids and w.target.node in ids],
        }
        data = QApplication.clipboard().mimeData()
        from qtpy.QtCore import QMimeData

        mime = QMimeData()
        text = json.dumps(payload)
        mime.setData(CLIPBOARD_MIME, text.encode())
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        del data
        return True

    def paste(self, at: QPointF | None = None) -> list[str]:
        """Paste nodes copied from this or another flow: new ids and names, at scene point `at`
        (default: the cursor when it is over the canvas, else offset a little from the originals)."""
        mime = QApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(CLIPBOARD_MIME):
            return []
        try:
            payload = json.loads(bytes(mime.data(CLIPBOARD_MIME)).decode())
            nodes = [Node.model_validate(n) for n in payload.get("nodes", [])]
            wires = [Wire.model_validate(w) for w in payload.get("wires", [])]
        except Exception as exc:  # noqa: BLE001 - a foreign clipboard must not crash the editor
            self.message.emit(f"Nothing to paste: {exc}")
            return []
        return self._insert_copies(nodes, wires, at=at if at is not None else self.cursor_scene_pos())

    def _insert_copies(self, nodes: list[Node], wires: list[Wire], at: QPointF | None = None,
                       text: str = "Paste") -> list[str]:
        """Add copies of `nodes` (new ids, unique names) with the wires among them, their top-left
        at `at` or 40 px down-right of the originals; one undo step; the copies are selected."""
        if not nodes:
            return []
        if at is not None:
            dx = at.x() - min(n.position.x for n in nodes)
            dy = at.y() - min(n.position.y for n in nodes)
        else:
            dx = dy = 40.0
        mapping: dict[str, str] = {}
        fresh: list[Node] = []
        taken = {n.name for n in self.document.flow.nodes}
        for node in nodes:
            new = node.model_copy(deep=True)
            new.id = new_id()
            name = node.name
            if name in taken:
                name = re.sub(r" \d+$", "", name) or name  # a copy of "Write 2" is "Write 3"
                i = 2
                while f"{name} {i}" in taken and len(f"{name} {i}") <= 80:
                    i += 1
                name = f"{name} {i}"
            taken.add(name)
            new.name = name
            new.position = Position(x=node.position.x + dx, y=node.position.y + dy)
            mapping[node.id] = new.id
            fresh.append(new)
        new_wires = [Wire(source=Endpoint(node=mapping[w.source.node], port=w.source.port),
                          target=Endpoint(node=mapping[w.target.node], port=w.target.port))
                     for w in wires if w.source.node in mapping and w.target.node in mapping]
        self.document.add_nodes(fresh, new_wires, text=text)
        self.select([n.id for n in fresh])
        return [n.id for n in fresh]

    # -- run state ---------------------------------------------------------------------------------

    def set_status(self, nid: str, status: str, preview: str | None = None) -> None:
        if nid not in self._views:
            return
        badge, item = self._decorations(nid)
        self._statuses[nid] = status
        badge.set_status(status)
        if preview is not None:
            text = " ".join(str(preview).split())
            width = max(self._views[nid].view.boundingRect().width() + 20, 120)
            text = QFontMetrics(item.font()).elidedText(text, Qt.TextElideMode.ElideRight, int(width))
            item.setText(text)
            item.setVisible(bool(text))
        self._place_decorations(nid)

    def status(self, nid: str) -> str:
        return self._statuses.get(nid, "")

    def preview_text(self, nid: str) -> str:
        item = self._previews.get(nid)
        return item.text() if item is not None and item.isVisible() else ""

    def clear_statuses(self) -> None:
        for nid in list(self._badges):
            self._badges[nid].set_status("")
            self._previews[nid].setVisible(False)
        self._statuses.clear()

    # -- context menus, shortcuts and overlays ------------------------------------------------------

    def _build_canvas_actions(self) -> None:
        """Keys that work while the canvas (or a widget on it) has focus."""

        def make(text: str, slot: Callable[[], Any], keys: Any, tip: str) -> QAction:
            action = QAction(text, self.viewer)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False: slot())
            self.viewer.addAction(action)
            return action

        self.act_rename = make("Re&name node", self.rename_selected, "F2", "Rename the selected node (F2)")
        self.act_duplicate = make("D&uplicate", self.duplicate_selected, "Ctrl+D",
                                  "Duplicate the selected nodes with the wires between them (Ctrl+D)")
        self.act_toggle_disabled = make("Disable / &Enable", self.toggle_disabled, "D",
                                        "Disable the selected nodes, or enable them again (D)")
        self.act_find = make("&Find node…", self.show_find, "Ctrl+F", "Find a node by name or action (Ctrl+F)")
        self.act_zoom_in = make("Zoom &in", lambda: self.zoom_by(ZOOM_STEP), QKeySequence.StandardKey.ZoomIn, "Zoom in")
        self.act_zoom_out = make("Zoom &out", lambda: self.zoom_by(1 / ZOOM_STEP), QKeySequence.StandardKey.ZoomOut,
                                 "Zoom out")
        self.act_minimap = QAction("&Minimap", self.viewer)
        self.act_minimap.setCheckable(True)
        self.act_minimap.setChecked(True)
        self.act_minimap.toggled.connect(self.set_minimap_visible)

    def _build_overlays(self) -> None:
        self._rename_box = _InlineRename(self)
        self.find_box = _FindBox(self)
        self.zoom_bar = _ZoomBar(self)
        self.minimap = _Minimap(self)
        self._minimap_dirty = True
        self._last_visible = QRectF()
        for signal in (self.document.node_added, self.document.node_removed, self.document.reset,
                       self.document.notes_changed):
            signal.connect(self._mark_minimap)
        self.document.node_changed.connect(self._node_moved_maybe)
        self._place_overlays()

    def _mark_minimap(self, *_args: Any) -> None:
        self._minimap_dirty = True

    def _node_moved_maybe(self, nid: str) -> None:
        """A value edit (typing in a field) leaves the minimap alone; a move or resize redraws it."""
        view = self._views.get(nid)
        if view is not None and self.minimap.rects.get(nid) != view.view.sceneBoundingRect():
            self._minimap_dirty = True

    def _place_overlays(self) -> None:
        w, h = self.viewer.width(), self.viewer.height()
        self.zoom_bar.adjustSize()
        self.zoom_bar.move(w - self.zoom_bar.width() - 10, h - self.zoom_bar.height() - 10)
        self.minimap.move(w - self.minimap.width() - 10, self.zoom_bar.y() - self.minimap.height() - 6)
        self.find_box.move(10, 10)
        for widget in (self.minimap, self.zoom_bar, self.find_box):
            widget.raise_()

    def _after_paint(self) -> None:
        """The viewer painted: the zoom may have changed, or the view moved."""
        text = f"{self.zoom_percent()}%"
        if self.zoom_bar.label.text() != text:
            self.zoom_bar.label.setText(text)
        visible = self.visible_rect()
        if self._minimap_dirty or visible != self._last_visible:
            content, self._minimap_dirty = self._minimap_dirty, False
            self._last_visible = visible
            self.minimap.refresh(content)

    def set_minimap_visible(self, visible: bool) -> None:
        self.minimap.setVisible(visible)
        self.minimap.refresh(True)

    def node_at(self, viewport_pos: QPoint) -> str | None:
        """The document id of the node under a viewport point (its title, body or a port)."""
        for item in self.viewer.items(viewport_pos):
            while item is not None and not isinstance(item, AbstractNodeItem):
                item = item.parentItem()
            if item is not None and item.id in self._doc_ids:
                return self._doc_ids[item.id]
        return None

    def show_context_menu(self, viewport_pos: QPoint) -> QMenu:
        """Right-click: the node's menu over a node, else the canvas menu (non-blocking popup)."""
        self.viewer.RMB_state = False  # NodeGraphQt's own contextMenuEvent would reset it
        nid = self.node_at(viewport_pos)
        menu = self.node_menu(nid) if nid else self.canvas_menu(self.viewer.mapToScene(viewport_pos))
        if self.context_menu is not None:
            self.context_menu.deleteLater()
        self.context_menu = menu
        menu.popup(self.viewer.viewport().mapToGlobal(viewport_pos))
        return menu

    @staticmethod
    def _menu_action(menu: QMenu, text: str, slot: Callable[[], Any], enabled: bool = True, tip: str = "") -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        action.setEnabled(enabled)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        return action

    def node_menu(self, nid: str) -> QMenu:
        """Rename, Duplicate, Disable/Enable, Run from here, Run only, Pin/Unpin, Copy, Delete.
        Right-clicking a node outside the selection selects just that node first."""
        if nid not in self.selected_ids():
            self.select([nid])
        ids = self.selected_ids()
        one = len(ids) == 1
        menu = QMenu(self.viewer)
        menu.setToolTipsVisible(True)
        add = self._menu_action
        add(menu, "Rename…\tF2", lambda: self.start_rename(nid))
        add(menu, "Duplicate\tCtrl+D", self.duplicate_selected)
        all_disabled = all(self.document.node(i).disabled for i in ids)
        add(menu, ("Enable" if all_disabled else "Disable") + "\tD", self.toggle_disabled)
        menu.addSeparator()
        add(menu, "Run from here\tShift+F6", lambda: self.run_from_requested.emit(nid), one,
            "Run this node and everything after it, reusing the last outputs of the nodes before it")
        add(menu, "Run only this node\tF6", lambda: self.run_only_requested.emit(nid), one,
            "Run just this node with the last outputs of the nodes before it")
        pinned, has_output = self.pin_info(nid) if self.pin_info is not None else (False, False)
        if pinned:
            add(menu, "Unpin output", lambda: self.pin_requested.emit(nid, False), one,
                "Later runs run this node again")
        else:
            add(menu, "Pin output", lambda: self.pin_requested.emit(nid, True), one and has_output,
                "Later runs reuse this node's last output instead of running it"
                if has_output else "Run the node first: there is no output to pin yet")
        menu.addSeparator()
        add(menu, "Copy\tCtrl+C", self.copy_selected)
        add(menu, "Delete\tDel", self.delete_selected)
        return menu

    def canvas_menu(self, scene_pos: QPointF) -> QMenu:
        """Add node here, Paste here, Select all, Fit to view, then the window's entries."""
        menu = QMenu(self.viewer)
        add = self._menu_action
        at = QPointF(scene_pos)
        add(menu, "Add node here…\tTab", lambda: self.show_quick_add(at=at))
        mime = QApplication.clipboard().mimeData()
        add(menu, "Paste here\tCtrl+V", lambda: self.paste(at=at),
            mime is not None and mime.hasFormat(CLIPBOARD_MIME))
        add(menu, "Select all\tCtrl+A", self.select_all)
        add(menu, "Fit to view\tF", self.fit)
        if self._context_actions:
            menu.addSeparator()
        for action in self._context_actions:
            menu.addSeparator() if action is None else menu.addAction(action)
        return menu

    # -- node commands ------------------------------------------------------------------------------

    def rename(self, nid: str, name: str) -> bool:
        """Rename through the document (expressions that read the node follow); False, with a
        message, when the name is not allowed or taken."""
        name = name.strip()
        node = self.document.node(nid)
        if name == node.name:
            self._on_node_changed(nid)
            return False
        if re.match(NAME_PATTERN, name) and name not in {n.name for n in self.document.flow.nodes}:
            self.document.rename_node(nid, name)
            return True
        self.message.emit(f"'{name}' cannot be used as a node name (letters, digits, spaces, - and _; unique).")
        self._on_node_changed(nid)
        return False

    def start_rename(self, nid: str) -> None:
        if nid in self._views:
            self._rename_box.start(nid)

    def rename_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.start_rename(ids[0])
        else:
            self.message.emit("Select one node to rename.")

    def duplicate_selected(self) -> list[str]:
        ids = set(self.selected_ids())
        flow = self.document.flow
        nodes = [n for n in flow.nodes if n.id in ids]
        wires = [w for w in flow.wires if w.source.node in ids and w.target.node in ids]
        if not nodes:
            return []
        group = QRectF()
        for nid in ids:
            group = group.united(self._views[nid].view.sceneBoundingRect())
        # the copies go below the originals, clear of every node
        x, y = self._free_rect(group.size(), QPointF(group.left(), group.bottom() + PLACE_GAP))
        at = QPointF(min(n.position.x for n in nodes) + x - group.left(), min(n.position.y for n in nodes) + y - group.top())
        return self._insert_copies(nodes, wires, at=at, text="Duplicate")

    def toggle_disabled(self) -> None:
        """Disable the selected nodes (a run skips them), or enable them when all are disabled;
        one undo step."""
        ids = self.selected_ids()
        if not ids:
            return
        target = not all(self.document.node(i).disabled for i in ids)
        stack = self.document.undo_stack
        stack.beginMacro(f"{'Disable' if target else 'Enable'} {len(ids)} node{'s' if len(ids) != 1 else ''}")
        try:
            for nid in ids:
                if self.document.node(nid).disabled != target:
                    self.document.set_node_field(nid, "disabled", target)
        finally:
            stack.endMacro()

    def select_all(self) -> None:
        for view in self._views.values():
            view.set_selected(True)
        self.selection_changed.emit(self.selected_ids())

    # -- find ---------------------------------------------------------------------------------------

    def find_nodes(self, query: str) -> list[str]:
        """Ids of nodes whose name or action title holds every word of `query`; names that
        start with it first."""
        q = " ".join(query.lower().split())
        if not q:
            return []
        found = []
        for index, node in enumerate(self.document.flow.nodes):
            action = self._action(node)
            name = node.name.lower()
            text = f"{name} {(action.title if action else node.action).lower()}"
            if all(w in text for w in q.split()):
                found.append((0 if name.startswith(q) else 1 if q in name else 2, index, node.id))
        return [nid for *_rest, nid in sorted(found)]

    def show_find(self) -> None:
        self._place_overlays()
        self.find_box.open()

    # -- view: centre, pan, zoom ------------------------------------------------------------------------

    def visible_rect(self) -> QRectF:
        return self.viewer.mapToScene(self.viewer.viewport().rect()).boundingRect()

    def flow_rect(self) -> QRectF:
        rect = QRectF()
        for view in self._views.values():
            rect = rect.united(view.view.sceneBoundingRect())
        for note in self._notes.values():
            rect = rect.united(note.sceneBoundingRect())
        return rect

    def pan_to(self, scene_point: QPointF) -> None:
        """Move the view (same zoom) so `scene_point` is in the middle."""
        scene_range = self.viewer._scene_range
        scene_range.translate(QPointF(scene_point) - scene_range.center())
        self.viewer._update_scene()

    def centre_on(self, nid: str) -> None:
        self.pan_to(self._views[nid].view.sceneBoundingRect().center())

    def zoom_percent(self) -> int:
        return round(self.viewer.transform().m11() * 100)

    def zoom_by(self, factor: float) -> None:
        current = self.viewer.transform().m11()
        wanted = min(ZOOM_MAX_SCALE, max(ZOOM_MIN_SCALE, current * factor))
        if current > 0 and abs(wanted - current) > 1e-6:
            self.viewer.scale(wanted / current, wanted / current)

    def set_zoom_percent(self, percent: float) -> None:
        current = self.viewer.transform().m11()
        if current > 0:
            self.zoom_by(percent / 100 / current)

    # -- placement --------------------------------------------------------------------------------------

    def cursor_scene_pos(self) -> QPointF | None:
        """Where the mouse is on the canvas, or None when it is elsewhere."""
        viewport = self.viewer.viewport()
        if not viewport.isVisible():
            return None
        local = viewport.mapFromGlobal(QCursor.pos())
        return self.viewer.mapToScene(local) if viewport.rect().contains(local) else None

    def _placement(self) -> QPointF:
        """Where a node added without a position goes: at the cursor when it is over the canvas,
        else right of the one selected node, else the middle of the view."""
        at = self.cursor_scene_pos()
        if at is not None:
            return at
        selected = [self._views[i] for i in self.selected_ids() if i in self._views]
        if len(selected) == 1:
            rect = selected[0].view.sceneBoundingRect()
            return QPointF(rect.right() + 2 * PLACE_GAP, rect.top())
        return self.viewer.mapToScene(self.viewer.viewport().rect().center())

    def free_spot(self, nid: str, pos: QPointF) -> tuple[float, float]:
        """The nearest place at or below `pos` where node `nid` overlaps no other node or note."""
        size = self._views[nid].view.sceneBoundingRect().size() if nid in self._views else QSizeF(200, 90)
        return self._free_rect(size, pos, {nid})

    def _free_rect(self, size: QSizeF, pos: QPointF, exclude: set[str] = frozenset()) -> tuple[float, float]:
        others = [v.view.sceneBoundingRect() for k, v in self._views.items() if k not in exclude]
        others += [n.sceneBoundingRect() for n in self._notes.values()]
        cand = QRectF(QPointF(pos), size)
        g = PLACE_GAP / 2
        for _ in range(len(others) + 1):
            hit = next((r for r in others if r.adjusted(-g, -g, g, g).intersects(cand)), None)
            if hit is None:
                break
            cand.moveTop(hit.bottom() + PLACE_GAP)
        return cand.x(), cand.y()

    # -- add next (drag a wire from an output into empty canvas) -------------------------------------------

    def _hook_live_wire(self) -> None:
        viewer = self.viewer
        original = viewer.sceneMouseReleaseEvent

        def release(event: Any) -> None:
            start = viewer._start_port if viewer._LIVE_PIPE.isVisible() else None
            detached = viewer._detached_port
            pos = QPointF(event.scenePos())
            empty = not any(isinstance(i, (PortItem, AbstractNodeItem)) for i in viewer.scene().items(pos))
            original(event)
            if (start is not None and detached is None and empty and event.button() == Qt.MouseButton.LeftButton
                    and start.port_type == PortTypeEnum.OUT.value):
                endpoint = self._endpoint(start)
                if endpoint is not None:
                    self.show_quick_add(at=pos, from_port=(endpoint[0], endpoint[1]))

        viewer.sceneMouseReleaseEvent = release

    def add_next(self, source: tuple[str, str], action_id: str, pos: QPointF) -> str:
        """Add a node at `pos` wired from output `source` (node id, port) into its first input that
        takes what the port carries; one undo step."""
        action = self.catalog.get(action_id)
        node = Node(action=action_id, name=self.document.unique_name(action.title.replace("Agent: ", "")),
                    position=Position(x=pos.x(), y=pos.y()))
        src = self.document.node(source[0])
        carries = dict(output_ports(self._action(src), src)).get(source[1], "any")
        port = next((k for k, accepts, _m in input_ports(action) if accepts == carries), None)
        wires = [Wire(source=Endpoint(node=source[0], port=source[1]), target=Endpoint(node=node.id, port=port))] \
            if port else []
        self.document.add_nodes([node], wires, text=f"Add {node.name}")
        if not port:
            self.message.emit(f"{node.name} has no input that takes '{carries}'; added without a wire.")
        self.select([node.id])
        return node.id
