"""What changed in a flow since its cassette was recorded: a recorded test that now fails says
so next to the failure ("wire Poem.output -> Combine.in removed", "Write.values.model:
recorded "gpt-4o-mini", now "gpt-4o""). A change alone never fails a test."""

from __future__ import annotations

from typing import Any

from studio.flow.models import Flow

from .cassette import differences

MAX_LINES = 10


def flow_shape(flow: Flow) -> dict[str, Any]:
    """The parts of a flow that decide what a run does: nodes by name and the wires between them."""
    names = {n.id: n.name for n in flow.nodes}
    return {
        "nodes": {n.name: {"action": n.action, "values": n.values, "disabled": n.disabled} for n in flow.nodes},
        "wires": sorted(f"{names.get(w.source.node, w.source.node)}.{w.source.port} -> "
                        f"{names.get(w.target.node, w.target.node)}.{w.target.port}" for w in flow.wires),
    }


def changes(recorded: dict[str, Any] | None, flow: Flow) -> list[str]:
    """One line per difference between the recorded shape and `flow` (empty when none or unknown)."""
    if not isinstance(recorded, dict):
        return []
    now = flow_shape(flow)
    lines = []
    before_nodes, after_nodes = recorded.get("nodes") or {}, now["nodes"]
    for name in sorted(set(before_nodes) - set(after_nodes)):
        lines.append(f"node {name} removed")
    for name in sorted(set(after_nodes) - set(before_nodes)):
        lines.append(f"node {name} added")
    for name in sorted(set(before_nodes) & set(after_nodes)):
        for path, was, new in differences(before_nodes[name], after_nodes[name]):
            lines.append(f"{name}.{path}: recorded {was}, now {new}")
    before_wires, after_wires = set(recorded.get("wires") or []), set(now["wires"])
    lines.extend(f"wire {w} removed" for w in sorted(before_wires - after_wires))
    lines.extend(f"wire {w} added" for w in sorted(after_wires - before_wires))
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... and {len(lines) - MAX_LINES} more"]
    return lines
