"""What the canvas draws for a node, worked out from the catalog alone: its input and output
ports, and an automatic layout of a flow."""

from __future__ import annotations

import logging
from collections import defaultdict

from studio.catalog.models import Action
from studio.flow.models import Node


log = logging.getLogger(__name__)

PORT_COLORS = {"any": "#9aa3ad", "agent": "#b57cf2", "tool": "#2bb5a5", "mcp_server": "#e08a3c"}
LAYOUT_DX, LAYOUT_DY = 300.0, 150.0
PLACE_GAP = 40.0  # free space kept around a node placed by the editor


def color_kind(action: Action | None) -> str:
    """The colour family of a node: its kind, or `unsupported` for imported placeholders."""
    if action is None:
        return "action"
    return "unsupported" if action.category == "Unsupported" else action.kind


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
