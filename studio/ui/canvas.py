"""The canvas: a NodeGraphQt graph that only DISPLAYS the FlowDocument.

User gestures on the graph (drop a node, drag a wire, move, rename) are turned into undoable
FlowDocument edits; the document's signals then update the graph. NodeGraphQt's own undo stack
and session format are never used. Nodes carry no embedded widgets (fields live in the property
panel), so large flows open quickly."""

from __future__ import annotations

import gc
import json
import logging
from collections import defaultdict
from typing import Any

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.constants import ICON_NODE_BASE, NodeEnum, ViewerEnum
from NodeGraphQt.qgraphics.node_base import NodeItem
from qtpy.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from qtpy.QtGui import (
    QAction,
    QBrush,
    QColor,
    QCursor,
    QFont,
    QFontMetrics,
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
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QInputDialog,
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
        ports = [(k, "any") for k in keys]
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


class FlowCanvas(QObject):
    """Owns the graph widget; `widget` goes into the main window."""

    selection_changed = Signal(list)  # doc node ids
    message = Signal(str)  # for the status bar (a refused connection ...)
    node_activated = Signal(str)  # double-click: open its output

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
        self.apply_theme(current_theme())
        self.rebuild()

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
        body, border, text = self._node_colors(action.kind if action else "action")
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
        body, border, text = self._node_colors(kind)
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
        import re

        nid = self._doc_ids.get(graph_id)
        if nid is None:
            return
        node = self.document.node(nid)
        if name != node.name and re.match(NAME_PATTERN, name) and name not in {n.name for n in self.document.flow.nodes}:
            self.document.set_node_field(nid, "name", name)
        else:
            if name != node.name:
                self.message.emit(f"'{name}' cannot be used as a node name (letters, digits, spaces, - and _; unique).")
            self._on_node_changed(nid)

    def _on_drop(self, mime: Any, pos: Any) -> None:
        action_id = action_from_mime(mime)
        if action_id and action_id in self.catalog:
            self.add_action(action_id, (pos.x(), pos.y()))

    def _on_double_clicked(self, view: BaseNode) -> None:
        nid = self._doc_ids.get(view.id)
        if nid:
            self.node_activated.emit(nid)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.viewer and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:
            self.show_quick_add()
            return True
        return super().eventFilter(obj, event)

    # -- commands the window calls ---------------------------------------------------------------

    def add_action(self, action_id: str, pos: tuple[float, float] | None = None) -> str:
        """Add a node for `action_id` at scene `pos` (default: the view's centre); returns its id."""
        action = self.catalog.get(action_id)
        if pos is None:
            centre = self.viewer.mapToScene(self.viewer.viewport().rect().center())
            pos = (centre.x() + 20 * (len(self.document.flow.nodes) % 5), centre.y())
        node = Node(action=action_id, name=self.document.unique_name(action.title.replace("Agent: ", "")),
                    position=Position(x=pos[0], y=pos[1]))
        self.document.add_node(node)
        self.select([node.id])
        return node.id

    def show_quick_add(self) -> None:
        if self._quick_add is None:
            self._quick_add = QuickAdd(self.catalog, self.viewer)
            self._quick_add.chosen.connect(self._quick_add_chosen)
        self._quick_add_scene_pos = self.viewer.mapToScene(self.viewer.mapFromGlobal(QCursor.pos()))
        if not self.viewer.rect().contains(self.viewer.mapFromGlobal(QCursor.pos())):
            self._quick_add_scene_pos = self.viewer.mapToScene(self.viewer.viewport().rect().center())
        self._quick_add.popup(QCursor.pos())

    def _quick_add_chosen(self, action_id: str) -> None:
        p = self._quick_add_scene_pos
        self.add_action(action_id, (p.x(), p.y()))

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

    def paste(self) -> list[str]:
        """Paste nodes copied from this or another flow: new ids and names, offset a little."""
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
        mapping: dict[str, str] = {}
        fresh: list[Node] = []
        taken = {n.name for n in self.document.flow.nodes}
        for node in nodes:
            new = node.model_copy(deep=True)
            new.id = new_id()
            name = node.name
            if name in taken:
                i = 2
                while f"{name} {i}" in taken and len(f"{name} {i}") <= 80:
                    i += 1
                name = f"{name} {i}"
            taken.add(name)
            new.name = name
            new.position = Position(x=node.position.x + 40, y=node.position.y + 40)
            mapping[node.id] = new.id
            fresh.append(new)
        new_wires = [Wire(source=Endpoint(node=mapping[w.source.node], port=w.source.port),
                          target=Endpoint(node=mapping[w.target.node], port=w.target.port))
                     for w in wires if w.source.node in mapping and w.target.node in mapping]
        if fresh:
            self.document.add_nodes(fresh, new_wires, text="Paste")
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
