"""Editing on the canvas: gestures on the graph become document edits (wires, moves, renames,
drops), and the commands the window calls (add, quick add, add next, copy, paste, duplicate,
disable, rename)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from NodeGraphQt import BaseNode
from NodeGraphQt.constants import PortTypeEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.port import PortItem
from qtpy.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from qtpy.QtGui import QCursor
from qtpy.QtWidgets import QApplication

from studio.flow.models import NAME_PATTERN, Endpoint, Node, Note, Position, Wire, new_id

from .canvas_items import AddNextButton
from .canvas_ports import PLACE_GAP, auto_layout, input_ports, output_ports
from .palette import QuickAdd, action_from_mime

log = logging.getLogger(__name__)

CLIPBOARD_MIME = "application/x-flow-studio-nodes"


class CanvasEditing:
    """Editing commands of FlowCanvas (mixed in)."""

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
        groups, ghosts = self.selected_group_ids(), self.selected_ghosts()
        if not groups and not ghosts:
            self.document.remove_nodes(self.selected_ids(), self.selected_note_ids())
            return
        stack = self.document.undo_stack
        stack.beginMacro("Delete")
        try:
            if ghosts:  # a missing node's placeholder: its wires go
                self.delete_selected_ghosts()
            if groups:  # a frame goes, the nodes inside it stay
                self.document.remove_groups(groups)
            self.document.remove_nodes(self.selected_ids(), self.selected_note_ids())
        finally:
            stack.endMacro()

    def auto_layout(self) -> None:
        self.document.move_nodes(auto_layout(self.document.flow), text="Auto-layout")
        self.fit()

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

    def _refresh_add_next(self, *_args: Any) -> None:
        """A "+" beside each output port of the one selected node (none for several or none)."""
        ids = self.selected_ids()
        if len(ids) == 1 and ids[0] in self._views and self._add_next_buttons:
            view = self._views[ids[0]]
            try:
                same = (self._add_next_buttons[0].parentItem() is view.view
                        and [b.port_key for b in self._add_next_buttons] == list(view.outputs()))
            except RuntimeError:
                same = False
            if same:  # (a click on a "+" must not rebuild the button it is on)
                return
        for button in self._add_next_buttons:
            try:
                if button.scene() is not None:
                    button.scene().removeItem(button)
            except RuntimeError:  # its node was deleted, and the button with it
                pass
        self._add_next_buttons = []
        if len(ids) != 1 or ids[0] not in self._views:
            return
        nid = ids[0]
        view = self._views[nid]
        for key in view.outputs():
            port = view.get_output(key).view
            rect = port.mapRectToParent(port.boundingRect())
            button = AddNextButton(view.view, key, lambda k, nid=nid: self.add_next_from_port(nid, k))
            button.setPos(rect.right() + 4, rect.center().y() - AddNextButton.SIZE / 2)
            self._add_next_buttons.append(button)

    def add_next_from_port(self, nid: str, port: str) -> None:
        """The "+" of an output port: quick add, placed right of the node, wired from `port`."""
        rect = self._views[nid].view.sceneBoundingRect()
        at = QPointF(*self.free_spot("", QPointF(rect.right() + 2 * PLACE_GAP, rect.top())))
        self.show_quick_add(at=at, from_port=(nid, port))
