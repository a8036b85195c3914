"""One n8n workflow (already parsed JSON) -> a Flow, its pinned outputs and an import report.

Order: every node gets its flow name first (so expressions may name nodes further down), then
root nodes are mapped (folding the sub-nodes they own), then the sub-nodes left (tools,
unknown ones), then the wires; then the one-trigger rule, pins, credentials and secrets, and a
last check against the flow rules that drops values the catalog cannot take."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from studio.catalog import load_catalog
from studio.catalog.data.imported import UNSUPPORTED_N8N
from studio.flow.models import Flow, Node, Note, Position, Wire
from studio.flow.validate import looks_like_secret_key, validate_flow

from . import core_nodes, langchain, openai, triggers  # noqa: F401  (register their mappings)
from .context import MAPPERS, Context, Mapped, wire
from .names import NameTable
from .placeholders import placeholder
from .report import ImportReport
from .shapes import output_shape
from .workflow import N8nNode, connections_of, parse_node, workflow_of

STICKY = "n8n-nodes-base.stickyNote"
TRIGGER_ACTIONS = ("trigger.",)


@dataclass
class ImportResult:
    flow: Flow
    report: ImportReport
    pins: dict[str, Any] = field(default_factory=dict)  # flow node id -> pinned output


def _is_trigger_type(n8n_type: str) -> bool:
    short = n8n_type.rsplit(".", 1)[-1].lower()
    return short.endswith("trigger") or short in ("webhook", "start", "cron", "interval")


def _note(raw: N8nNode) -> Note:
    width = raw.param("width", 240)
    height = raw.param("height", 160)
    ok = lambda v, d: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1e6 else d  # noqa: E731
    content = raw.param("content", "")
    return Note(text=content if isinstance(content, str) else "", position=Position(x=raw.position[0], y=raw.position[1]),
                width=ok(width, 240.0), height=ok(height, 160.0))


def _outputs_used(links: list[tuple[str, str, int, str, int]], name: str) -> int:
    return max([o + 1 for s, kind, o, _t, _i in links if s == name and kind == "main"] or [1])


def convert(data: Any) -> ImportResult:
    """Raises NotAnN8nWorkflow for anything that is not an n8n workflow; otherwise always returns."""
    workflow = workflow_of(data)
    report = ImportReport()
    names = NameTable()
    settings = workflow.get("settings") if isinstance(workflow.get("settings"), dict) else {}
    ctx = Context(names, report, settings)
    raw_nodes = [parse_node(n, i) for i, n in enumerate(workflow["nodes"]) if isinstance(n, dict)]
    report.nodes = len(raw_nodes)
    by_name: dict[str, N8nNode] = {}
    for n in raw_nodes:
        by_name.setdefault(n.name, n)
    links = [link for link in connections_of(workflow) if link[0] in by_name and link[3] in by_name]
    for source, kind, _o, target, _i in links:
        if kind != "main":
            subs = ctx.subs.setdefault(target, {}).setdefault(kind, [])
            if by_name[source] not in subs:
                subs.append(by_name[source])
    sub_names = {s for s, kind, _o, _t, _i in links if kind != "main"}
    feeders: dict[str, set[str]] = {}
    for source, kind, _o, target, _i in links:
        if kind == "main":
            feeders.setdefault(target, set()).add(source)
    ctx.main_source = {target: next(iter(found)) for target, found in feeders.items() if len(found) == 1}
    ctx.shapes = {n.name: rules for n in raw_nodes if (rules := output_shape(n))}
    ctx.chat_trigger = any(n.type in (triggers.LANGCHAIN + "chatTrigger", triggers.LANGCHAIN + "manualChatTrigger")
                           for n in raw_nodes if not n.disabled)

    notes: list[Note] = []
    real = []
    for n in raw_nodes:
        if n.type == STICKY:
            notes.append(_note(n))
            report.converted += 1
        elif by_name.get(n.name) is n:
            real.append(n)
            names.add(n.name)
        else:
            report.warnings.append(f"a second node named {n.name!r} is left out (n8n names are unique)")

    mapped: dict[str, Mapped] = {}

    def map_one(n: N8nNode) -> None:
        mapper = MAPPERS.get(n.type)
        result = None
        if mapper is not None:
            try:
                result = mapper(n, ctx)
            except (TypeError, ValueError, AttributeError, KeyError) as exc:  # odd parameter shapes
                report.warnings.append(f"{names.get(n.name)}: could not convert ({exc}); kept as a placeholder")
                result = None
        if result is None:
            result = placeholder(n, ctx, _outputs_used(links, n.name))
        else:
            report.converted += 1
        mapped[n.name] = result

    for n in real:
        if n.name not in sub_names:
            map_one(n)
    for n in real:
        if n.name in sub_names and n.name not in ctx.consumed and n.name not in mapped:
            map_one(n)
    report.converted += sum(1 for n in real if n.name in ctx.consumed)

    nodes: list[Node] = []
    wires: list[Wire] = []
    for m in mapped.values():
        nodes.append(m.node)
        nodes.extend(m.extra)
        wires.extend(m.extra_wires)

    for source, kind, out_index, target, in_index in links:
        src, dst = mapped.get(source), mapped.get(target)
        if src is None or dst is None:
            continue  # a folded sub-node: its settings live in its parent
        src_name, dst_name = src.node.name, dst.node.name
        if kind == "main":
            if out_index >= len(src.outputs):
                report.warnings.append(f"{src_name}: output {out_index + 1} has no equivalent port; "
                                       f"its wire to {dst_name} is left out")
                continue
            port_in = dst.inputs[in_index] if in_index < len(dst.inputs) else dst.inputs[-1]
            wires.append(wire(src.source, src.outputs[out_index], dst.node, port_in))
        else:
            target_port = dst.ai_ports.get(kind)
            if target_port is None and dst.node.action == UNSUPPORTED_N8N:
                target_port = (dst.node.id, "sub_nodes")
            if target_port is None or not src.outputs:
                report.warnings.append(f"{src_name} -> {dst_name} ({kind}) has no equivalent wire and is left out")
                continue
            target_node = next(n for n in nodes if n.id == target_port[0])
            wires.append(wire(src.source, src.outputs[0], target_node, target_port[1]))

    flow = Flow(name=_flow_name(workflow), nodes=nodes, wires=_unique(wires), notes=notes)
    _loop_backs(flow)
    _break_cycles(flow, report)
    _one_trigger(flow, report)
    _reply_nodes(flow, mapped, by_name)
    _credentials(raw_nodes, names, ctx, report)
    _scrub_secrets(flow, report)
    _repair(flow, report, {m.node.id: n for n in real if (m := mapped.get(n.name))}, ctx)
    pins = _pins(workflow, names, flow, report)
    return ImportResult(flow=flow, report=report, pins=pins)


def _flow_name(workflow: dict[str, Any]) -> str:
    name = workflow.get("name")
    return name.strip()[:200] if isinstance(name, str) and name.strip() else "Imported n8n workflow"


def _unique(wires: list[Wire]) -> list[Wire]:
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for w in wires:
        key = (w.source.node, w.source.port, w.target.node, w.target.port)
        if key not in seen and w.source.node != w.target.node:
            seen.add(key)
            out.append(w)
    return out


def _loop_backs(flow: Flow) -> None:
    """n8n closes a loop by wiring the body's end back into Loop Over Items; ours runs the body per
    item by itself and gathers its results, so those wires back are dropped (flows have no cycles)."""
    for loop in [n for n in flow.nodes if n.action == "core.loop"]:
        body, todo = set(), [w.target.node for w in flow.outgoing(loop.id) if w.source.port == "loop"]
        while todo:
            nid = todo.pop()
            if nid not in body and nid != loop.id:
                body.add(nid)
                todo.extend(w.target.node for w in flow.outgoing(nid))
        flow.wires = [w for w in flow.wires if not (w.target.node == loop.id and w.source.node in body)]


def _break_cycles(flow: Flow, report: ImportReport) -> None:
    """n8n allows any wire back to an earlier node; a flow never loops. Each wire that closes a
    loop (depth-first, in node order) is left out and listed."""
    out: dict[str, list[Wire]] = {}
    for w in flow.wires:
        out.setdefault(w.source.node, []).append(w)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    dropped: set[int] = set()
    for root in [n.id for n in flow.nodes]:
        if state.get(root):
            continue
        stack = [(root, iter(out.get(root, [])))]
        state[root] = 1
        while stack:
            nid, edges = stack[-1]
            w = next(edges, None)
            if w is None:
                state[nid] = 2
                stack.pop()
            elif state.get(w.target.node) == 1:
                dropped.add(id(w))
            elif not state.get(w.target.node):
                state[w.target.node] = 1
                stack.append((w.target.node, iter(out.get(w.target.node, []))))
    if dropped:
        names = {n.id: n.name for n in flow.nodes}
        for w in flow.wires:
            if id(w) in dropped:
                report.warnings.append(f"the wire {names[w.source.node]} -> {names[w.target.node]} closes a loop "
                                       "(flows have none) and is left out")
        flow.wires = [w for w in flow.wires if id(w) not in dropped]


def _one_trigger(flow: Flow, report: ImportReport) -> None:
    """A flow has exactly one trigger: the first enabled one is kept; the others' wires start from
    it instead (placeholders of n8n triggers stay, disabled). Without any, a Manual Trigger is
    added in front of the placeholders nothing feeds, so a run reaches them and says so."""
    found = [n for n in flow.nodes if n.action.startswith(TRIGGER_ACTIONS)]
    if found:
        keep = next((n for n in found if not n.disabled), found[0])
        keep.disabled = False
        for other in found:
            if other is keep:
                continue
            report.warnings.append(f"{other.name}: a flow starts from one trigger; its wires now start "
                                   f"from {keep.name}")
            flow.wires = [Wire(source=type(w.source)(node=keep.id, port="output"), target=w.target)
                          if w.source.node == other.id else w for w in flow.wires]
            flow.nodes.remove(other)
        for other in [n for n in flow.nodes if n.action == UNSUPPORTED_N8N
                      and _is_trigger_type(str(n.values.get("n8n_type", "")))]:
            # A trigger without an equivalent never starts this flow: kept (disabled) to be seen
            # and replaced, and what it fed now follows the flow's trigger.
            report.warnings.append(f"{other.name}: a trigger without an equivalent is kept disabled; its wires now "
                                   f"start from {keep.name}")
            other.disabled = True
            flow.wires = [Wire(source=type(w.source)(node=keep.id, port="output"), target=w.target)
                          if w.source.node == other.id else w for w in flow.wires]
        into = [w for w in flow.wires if w.target.node == keep.id or w.target.node not in {n.id for n in flow.nodes}]
        if into:
            report.warnings.append(f"{len(into)} wire(s) into a trigger left out (a trigger starts the flow)")
        flow.wires = _unique([w for w in flow.wires if w not in into])
        return
    fed = {w.target.node for w in flow.wires}
    start = Node(action="trigger.manual", name=_free_name(flow, "Start"),
                 position=Position(x=min([n.position.x for n in flow.nodes] or [0]) - 260,
                                   y=min([n.position.y for n in flow.nodes] or [0])))
    for n in flow.nodes:
        if n.id not in fed and n.action == UNSUPPORTED_N8N:
            flow.wires.append(wire(start, "output", n))
    flow.nodes.insert(0, start)
    report.warnings.append(f"no trigger has an equivalent: {start.name} (a Manual Trigger) was added")


def _free_name(flow: Flow, wanted: str) -> str:
    taken = {n.name.lower() for n in flow.nodes}
    name, i = wanted, 2
    while name.lower() in taken:
        name, i = f"{wanted} {i}", i + 1
    return name


def _downstream_sink(flow: Flow, start: Node) -> Node | None:
    """The first node reached from `start` that feeds nothing further (breadth first)."""
    order, seen = [start.id], {start.id}
    for nid in order:
        for w in flow.outgoing(nid):
            if w.target.node not in seen and w.source.port != "error":
                seen.add(w.target.node)
                order.append(w.target.node)
    for nid in order[1:]:
        if not [w for w in flow.outgoing(nid) if w.source.port != "error"]:
            return flow.node(nid)
    return None


def _reply_nodes(flow: Flow, mapped: dict[str, Mapped], by_name: dict[str, N8nNode]) -> None:
    for node in flow.nodes:
        if node.action == "trigger.chat" and not node.values.get("reply_node"):
            sink = _downstream_sink(flow, node)
            node.values["reply_node"] = sink.name if sink else node.name


def _credentials(raw_nodes: list[N8nNode], names: NameTable, ctx: Context, report: ImportReport) -> None:
    for n in raw_nodes:
        for cred_type, cred in n.credentials.items():
            label = cred.get("name") if isinstance(cred, dict) else None
            report.connections.append({"node": names.get(n.name) or n.name, "credential_type": str(cred_type),
                                       "n8n_name": label if isinstance(label, str) else str(cred_type)})


def _secret_text(text: str) -> bool:
    stripped = text.strip()
    if stripped.lower().startswith("bearer "):
        stripped = stripped[7:].lstrip()
    return stripped.startswith("sk-")


def _scrub(value: Any, path: str, found: list[str], depth: int = 0) -> Any:
    """`value` without literal secrets: values under secret-looking keys, `{name|key: 'Authorization',
    value: ...}` pairs and `sk-...` text become empty text; their places are listed in `found`."""
    if depth > 60:
        return value
    if isinstance(value, dict):
        pair_key = value.get("name", value.get("key"))
        out = {}
        for k, v in value.items():
            here = f"{path}.{k}"
            literal = isinstance(v, str) and v != "" and "{{" not in v or isinstance(v, (int, float)) and not isinstance(v, bool)
            if literal and (looks_like_secret_key(str(k)) or (k == "value" and isinstance(pair_key, str)
                                                               and looks_like_secret_key(pair_key))):
                found.append(here)
                out[k] = ""
            else:
                out[k] = _scrub(v, here, found, depth + 1)
        return out
    if isinstance(value, list):
        return [_scrub(v, f"{path}[{i}]", found, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, str) and _secret_text(value):
        found.append(path)
        return ""
    return value


def _scrub_secrets(flow: Flow, report: ImportReport) -> None:
    for node in flow.nodes:
        found: list[str] = []
        node.values = _scrub(node.values, "values", found)
        report.removed_secrets.extend(f"{node.name}: {where}" for where in found)
    for note in flow.notes:
        if _secret_text(note.text):
            note.text = ""
            report.removed_secrets.append("a sticky note")


def _repair(flow: Flow, report: ImportReport, origin: dict[str, N8nNode], ctx: Context) -> None:
    """Values the catalog cannot take (an n8n option we lack, a wrong type) are dropped and
    listed; a node still in the way becomes a placeholder; so the written flow passes
    `studio validate`."""
    catalog = load_catalog()
    for _ in range(3):
        problems = validate_flow(flow, catalog)
        if not problems:
            return
        for problem in problems:
            where = problem.path
            if where.startswith("nodes[") and ".values" in where:
                index = int(where[6:where.index("]")])
                key = _value_key(where.split(".values", 1)[1])
                node = flow.nodes[index]
                if key in node.values:
                    dropped = node.values.pop(key)
                    report.warnings.append(f"{node.name}: {key} left out ({problem.message})")
                    # Kept in the node's notes, so nothing of the n8n node is lost.
                    shown = dropped if isinstance(dropped, str) else json.dumps(dropped, ensure_ascii=False)
                    node.notes = (node.notes + "\n" if node.notes else "") + f"n8n value left out: {key} = {shown[:2000]}"
            elif where.startswith("wires["):
                index = int(where[6:where.index("]")])
                if index < len(flow.wires):
                    report.warnings.append(f"a wire is left out ({problem.message})")
                    flow.wires[index] = None  # type: ignore[call-overload]
        flow.wires = [w for w in flow.wires if w is not None]
    for problem in validate_flow(flow, catalog):
        if problem.path.startswith("nodes["):
            index = int(problem.path[6:problem.path.index("]")])
            node = flow.nodes[index]
            n8n = origin.get(node.id)
            if n8n is not None and node.action != UNSUPPORTED_N8N:
                ports = sorted({w.source.port for w in flow.outgoing(node.id)} - {"error"}) or ["output"]
                swap = placeholder(n8n, ctx, 1).node
                swap.values["outputs"] = {p: p for p in ports}
                flow.nodes[index] = swap.model_copy(update={"id": node.id, "name": node.name})
                flow.wires = [w for w in flow.wires if w.target.node != node.id or w.target.port == "in"]
                report.converted -= 1
                report.warnings.append(f"{node.name}: {problem.message}; kept as a placeholder")
    for problem in validate_flow(flow, catalog):
        report.warnings.append(f"still to fix by hand: {problem.path}: {problem.message}")


def _value_key(rest: str) -> str:
    """The input key at the start of a problem path after `.values` (`.temperature...` or `["a b"]...`)."""
    if rest.startswith("["):
        try:
            return str(json.loads(rest[1:rest.index("]")]))
        except ValueError:
            return ""
    return re.split(r"[.\[]", rest.lstrip("."), maxsplit=1)[0]


def _pins(workflow: dict[str, Any], names: NameTable, flow: Flow, report: ImportReport) -> dict[str, Any]:
    """n8n pinData {node name: [{json: ...}, ...]} -> {node id: output}: one item is its json,
    several are the list of their json."""
    pin_data = workflow.get("pinData")
    pins: dict[str, Any] = {}
    if not isinstance(pin_data, dict):
        return pins
    ids = {n.name: n.id for n in flow.nodes}
    for n8n_name, items in pin_data.items():
        name = names.get(str(n8n_name))
        if name is None or name not in ids or not isinstance(items, list):
            continue
        values = [item.get("json", item) if isinstance(item, dict) else item for item in items]
        pins[ids[name]] = values[0] if len(values) == 1 else values
        report.pinned.append(name)
    return pins
