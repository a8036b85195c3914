"""The canvas: a NodeGraphQt graph that only DISPLAYS the FlowDocument.

User gestures on the graph (drop a node, drag a wire, move, rename) are turned into undoable
FlowDocument edits; the document's signals then update the graph. NodeGraphQt's own undo stack
and session format are never used. Nodes carry no embedded widgets (fields live in the property
panel), so large flows open quickly."""

from __future__ import annotations

import gc
import logging
from typing import Any, Callable

from NodeGraphQt import BaseNode
from NodeGraphQt.constants import ViewerEnum
from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtGui import QAction, QColor
from qtpy.QtWidgets import QMenu

from studio.catalog.catalog import Catalog
from studio.catalog.models import Action
from studio.flow.models import Node

from .canvas_broken import BROKEN_RGBA, CanvasBrokenParts
from .canvas_edit import CanvasEditing
from .canvas_graph import NODE_CLASSES, _DiscardingUndoStack, _FlowNodeItem, _Graph, kind_icon
from .canvas_groups import CanvasGroups, GroupFrame
from .canvas_items import PreviewLine, StickyNote, _Badge
from .canvas_ports import PORT_COLORS, color_kind, input_ports, output_ports
from .canvas_view import CanvasView
from .document import FlowDocument
from .palette import QuickAdd
from .theme import KIND_COLORS, Theme, current_theme, hex_rgb

log = logging.getLogger(__name__)

FINAL_CHUNK = 50  # nodes whose end-of-run preview is shown per turn of the loop


class FlowCanvas(CanvasEditing, CanvasView, CanvasBrokenParts, CanvasGroups, QObject):
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
        if document.catalog is None:
            document.catalog = catalog  # renames follow inputs that name a node
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
        self._previews: dict[str, PreviewLine] = {}
        self._statuses: dict[str, str] = {}
        self._final: list[tuple[str, str, Any]] = []  # a run's end: (node id, status, output) still to show
        self._final_preview: Callable[[Any], str] = str
        self._final_timer = QTimer(self)
        self._final_timer.setSingleShot(True)
        self._final_timer.setInterval(0)
        self._final_timer.timeout.connect(self._show_final)
        self._notes: dict[str, StickyNote] = {}
        self._init_broken()
        self._groups: dict[str, GroupFrame] = {}
        self._add_next_buttons: list = []
        self._syncing = False
        self._quick_add: QuickAdd | None = None
        self._icons = {kind: kind_icon(kind) for kind in NODE_CLASSES}
        for kind, cls in NODE_CLASSES.items():
            cls.ICON = self._icons[kind]

        self.graph.data_dropped.connect(self._on_drop)
        self.graph.node_selection_changed.connect(lambda *_: self.selection_changed.emit(self.selected_ids()))
        self.selection_changed.connect(self._refresh_add_next)
        self.graph.node_double_clicked.connect(self._on_double_clicked)
        # Double-clicking a node's title renames it in the rename box (canvas_labels.TitleLabel).
        self.viewer.edit_node_title = lambda item_id: self.start_rename(self._doc_ids.get(item_id, ""))
        self.viewer.installEventFilter(self)
        document.node_added.connect(self._on_node_added)
        document.node_removed.connect(self._on_node_removed)
        document.node_changed.connect(self._on_node_changed)
        document.wires_changed.connect(self._sync_wires)
        document.notes_changed.connect(self._sync_notes)
        document.groups_changed.connect(self._sync_groups)
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
        body, border, text = self._node_colors(color_kind(action))
        view.set_property("color", body, push_undo=False)
        view.view.border_color = border if action is not None else BROKEN_RGBA
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
        for ghost in list(self._ghosts):
            self.graph.delete_node(self._ghosts.pop(ghost), push_undo=False)
        for item in [*self._notes.values(), *self._groups.values()]:
            self.viewer.scene().removeItem(item)
        self._notes.clear()
        self._groups.clear()
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
        self._sync_groups()

    def _create_view(self, node: Node) -> BaseNode:
        action = self._action(node)
        kind = action.kind if action else "action"
        cls = NODE_CLASSES[kind]
        body, border, text = self._node_colors(color_kind(action))
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
            self._set_tooltip(view, node, action)
            self._views[node.id] = view
            self._doc_ids[view.id] = node.id
            if action is None:
                self._mark_unknown(node.id, node.action)
            if node.disabled:
                view.set_disabled(True)
        finally:
            _FlowNodeItem.hold_drawing = outer
        if not outer:
            self._finish_view(node.id)
        return view

    @staticmethod
    def _set_tooltip(view: BaseNode, node: Node, action: Action | None) -> None:
        """The node's full name (its title may be elided), its action and what the action does."""
        title = action.title if action else f"Unknown action {node.action}"
        view.view.setToolTip(f"{node.name}\n{title}" + (f"\n{action.description[:200]}" if action else ""))

    def _finish_view(self, nid: str) -> None:
        """Draw a node built with drawing held, and place its badge and preview."""
        view = self._views[nid]
        view.view.draw_node()
        view.model.width, view.model.height = view.view.width, view.view.height
        self._place_decorations(nid)

    def _decorations(self, nid: str) -> tuple[_Badge, PreviewLine]:
        """The node's status badge and preview line, made when a run first shows something on
        it (two fewer items per node to build when a large flow opens)."""
        badge = self._badges.get(nid)
        if badge is None:
            view = self._views[nid]
            badge = _Badge(view.view)
            badge.setVisible(False)
            self._badges[nid] = badge
            self._previews[nid] = PreviewLine(view.view, self.theme.muted)
            self._place_decorations(nid)
        return badge, self._previews[nid]

    def _place_decorations(self, nid: str) -> None:
        label = self._broken_labels.get(nid)
        if label is not None:
            rect = self._views[nid].view.boundingRect()
            label.setPos(rect.left() + 2, rect.top() - 16)
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
        self._forget_broken(nid)
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
                self._set_tooltip(view, node, self._action(node))
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
        have = [k for k in view.outputs() if (nid, "out", k) not in self.broken_ports]
        if [k for k, _ in want] == have:
            return
        for key in list(view.outputs()):
            if key not in [k for k, _ in want] or (nid, "out", key) in self.broken_ports:
                self.broken_ports.discard((nid, "out", key))
                port = view.get_output(key)
                port.clear_connections(push_undo=False, emit_signal=False)
                view.delete_output(port)
        for key, ptype in want:
            if key not in view.outputs():
                view.add_output(key, multi_output=True, color=hex_rgb(PORT_COLORS.get(ptype, PORT_COLORS["any"])))
        view.view.draw_node()
        self._sync_wires()
        if self._add_next_buttons and self._add_next_buttons[0].parentItem() is view.view:
            self._refresh_add_next()

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
                    continue  # to a node not in the flow: a placeholder below
                out, inp = self._views[s].get_output(sp), self._views[t].get_input(tp)
                if out is None or inp is None:  # a port the node does not have: drawn broken
                    self._add_broken_ports(s, self._views[s], (set(), {sp}) if out is None else None)
                    self._add_broken_ports(t, self._views[t], ({tp}, set()) if inp is None else None)
                    for nid in {s, t}:
                        self._views[nid].view.draw_node()
                    out, inp = self._views[s].get_output(sp), self._views[t].get_input(tp)
                out.connect_to(inp, push_undo=False, emit_signal=False)
            if self._ghosts or self.broken_ports or any(
                    s not in self._views or t not in self._views for s, _sp, t, _tp in want):
                self._sync_broken_wires()
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

    # -- run state ---------------------------------------------------------------------------------

    def set_status(self, nid: str, status: str, preview: str | None = None) -> None:
        if nid not in self._views:
            return
        badge, item = self._decorations(nid)
        self._statuses[nid] = status
        badge.set_status(status)
        if preview is not None:
            item.show_preview(str(preview), int(max(self._views[nid].view.boundingRect().width() + 20, 120)))

    def show_final(self, ends: list[tuple[str, str, Any]], preview: Callable[[Any], str]) -> None:
        """A run's end: each (node id, status, output) gets its badge and the preview of its whole
        output (`preview(output)`), FINAL_CHUNK nodes per turn of the loop: the 200 nodes of a
        fan-out at once held the window for about 4 ms after the run's own end. Clearing the
        statuses (another run, another flow) drops those not shown yet."""
        self._final = list(ends)
        self._final_preview = preview
        self._show_final()

    def _show_final(self) -> None:
        ends, self._final = self._final[:FINAL_CHUNK], self._final[FINAL_CHUNK:]
        for nid, status, output in ends:
            self.set_status(nid, status, self._final_preview(output))
        if self._final:
            self._final_timer.start()

    def status(self, nid: str) -> str:
        return self._statuses.get(nid, "")

    def preview_text(self, nid: str) -> str:
        item = self._previews.get(nid)
        return item.shown if item is not None else ""

    def clear_statuses(self) -> None:
        self._final.clear()
        self._final_timer.stop()
        for nid in list(self._badges):
            self._badges[nid].set_status("")
            self._previews[nid].show_text("")
        self._statuses.clear()
