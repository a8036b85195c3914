"""Broken parts of a flow stay on the canvas, drawn as broken, so they can be fixed there: a node
whose action is not in the catalog is a red placeholder that keeps its wires, a wire to a port
its node does not have ends in a red port, and a wire to a node that is not in the flow ends in a
red "missing node" placeholder (select it and press Delete to drop those wires). Problems lists
each of them (studio/flow/validate.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from NodeGraphQt import BaseNode
from qtpy.QtGui import QColor, QFont
from qtpy.QtWidgets import QGraphicsSimpleTextItem

from studio.flow.models import Wire

from .canvas_graph import ActionNode
from .theme import hex_rgb

if TYPE_CHECKING:
    from .canvas import FlowCanvas

BROKEN_COLOR = "#e5484d"
BROKEN_RGBA = (*hex_rgb(BROKEN_COLOR), 255)
DASHED = 1  # NodeGraphQt's dashed pipe style


def wired_ports(wires: list[Wire]) -> dict[str, tuple[set[str], set[str]]]:
    """Node id -> (input keys, output keys) the flow's wires name on it."""
    found: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for w in wires:
        found[w.source.node][1].add(w.source.port)
        found[w.target.node][0].add(w.target.port)
    return found


class CanvasBrokenParts:
    """Drawing of unknown actions, missing ports and missing nodes for FlowCanvas (mixed in)."""

    def _init_broken(self: FlowCanvas) -> None:
        self._ghosts: dict[str, BaseNode] = {}  # missing node id -> placeholder view
        self._broken_labels: dict[str, QGraphicsSimpleTextItem] = {}
        self.broken_ports: set[tuple[str, str, str]] = set()  # (node id, "in"/"out", key)

    def _add_broken_ports(self: FlowCanvas, nid: str, view: BaseNode, named: tuple[set[str], set[str]] | None) -> None:
        """Ports the flow's wires name that the node does not have: added in red, so the wires show."""
        if not named:
            return
        inputs, outputs = named
        for key in sorted(inputs - set(view.inputs())):
            view.add_input(key, multi_input=True, color=hex_rgb(BROKEN_COLOR))
            self.broken_ports.add((nid, "in", key))
        for key in sorted(outputs - set(view.outputs())):
            view.add_output(key, multi_output=True, color=hex_rgb(BROKEN_COLOR))
            self.broken_ports.add((nid, "out", key))

    def _mark_unknown(self: FlowCanvas, nid: str, action_id: str) -> None:
        """A red label above a node whose action this build does not know."""
        view = self._views[nid]
        label = QGraphicsSimpleTextItem(f"⚠ unknown action {action_id}", view.view)
        font = QFont()
        font.setPointSizeF(7.5)
        font.setBold(True)
        label.setFont(font)
        label.setBrush(QColor(BROKEN_COLOR))
        label.setPos(view.view.boundingRect().left() + 2, view.view.boundingRect().top() - 16)
        self._broken_labels[nid] = label
        view.view.border_color = BROKEN_RGBA

    def _forget_broken(self: FlowCanvas, nid: str) -> None:
        self._broken_labels.pop(nid, None)
        self.broken_ports = {p for p in self.broken_ports if p[0] != nid}

    def _sync_broken_wires(self: FlowCanvas) -> None:
        """Placeholders for missing nodes, and every wire that touches a broken part in red."""
        flow = self.document.flow
        known = set(self._views)
        dangling = [w for w in flow.wires if (w.source.node in known) != (w.target.node in known)]
        for ghost in list(self._ghosts):
            self.graph.delete_node(self._ghosts.pop(ghost), push_undo=False)
        for w in dangling:
            missing_is_source = w.source.node not in known
            missing, present = (w.source.node, w.target.node) if missing_is_source else (w.target.node, w.source.node)
            ghost = self._ghosts.get(missing)
            if ghost is None:
                near = self.document.node(present).position
                x = near.x - 300 if missing_is_source else near.x + 300
                ghost = self.graph.create_node(ActionNode.type_, name="Missing node", selected=False, push_undo=False,
                                               pos=[x, near.y + 40 * len(self._ghosts)], color=(70, 30, 32, 255),
                                               text_color=(255, 235, 235, 255))
                ghost.view.border_color = BROKEN_RGBA
                ghost.view.setToolTip(f"No node of this flow has the id {missing!r}: select it and press Delete "
                                      "to remove its wires")
                self._ghosts[missing] = ghost
            view = self._views[present]
            if missing_is_source:
                if w.source.port not in ghost.outputs():
                    ghost.add_output(w.source.port, multi_output=True, color=hex_rgb(BROKEN_COLOR))
                out, inp = ghost.get_output(w.source.port), view.get_input(w.target.port)
            else:
                if w.target.port not in ghost.inputs():
                    ghost.add_input(w.target.port, multi_input=True, color=hex_rgb(BROKEN_COLOR))
                out, inp = view.get_output(w.source.port), ghost.get_input(w.target.port)
            if out is not None and inp is not None:
                out.connect_to(inp, push_undo=False, emit_signal=False)
        if self.broken_ports or self._ghosts:
            self._paint_broken_pipes()

    def _paint_broken_pipes(self: FlowCanvas) -> None:
        ghosts = {g.id for g in self._ghosts.values()}
        for pipe in self.viewer.all_pipes():
            ends = (pipe.input_port, pipe.output_port)
            if any(self._port_is_broken(p, ghosts) for p in ends if p is not None):
                pipe.color = BROKEN_RGBA
                pipe.style = DASHED
                pipe.reset()

    def _port_is_broken(self: FlowCanvas, port: Any, ghosts: set[str]) -> bool:
        if port.node.id in ghosts:
            return True
        nid = self._doc_ids.get(port.node.id)
        return (nid, "in" if port.port_type == "in" else "out", port.name) in self.broken_ports

    def broken_wires(self: FlowCanvas) -> list[Wire]:
        """The document's wires drawn as broken (to a missing node or port)."""
        ids = set(self._views)
        return [w for w in self.document.flow.wires
                if w.source.node not in ids or w.target.node not in ids
                or (w.source.node, "out", w.source.port) in self.broken_ports
                or (w.target.node, "in", w.target.port) in self.broken_ports]

    def selected_ghosts(self: FlowCanvas) -> list[str]:
        selected = {v.id for v in self.graph.selected_nodes()}
        return [missing for missing, view in self._ghosts.items() if view.id in selected]

    def delete_selected_ghosts(self: FlowCanvas) -> bool:
        """Delete on a missing-node placeholder: remove the wires to that node (one undo step)."""
        missing = set(self.selected_ghosts())
        wires = [w for w in self.document.flow.wires if w.source.node in missing or w.target.node in missing]
        if wires:
            self.document.edit_wires(remove=wires, text=f"Delete {len(wires)} broken wire{'s' if len(wires) != 1 else ''}")
        return bool(wires)
