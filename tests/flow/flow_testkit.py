"""Hypothesis strategies for flow documents: any shape the models accept, and flows that follow
every catalog rule (one trigger, real actions, values of the right type, wires between real
ports, no cycles)."""

from __future__ import annotations

import json

import string
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from studio.catalog import load_catalog
from studio.catalog.models import Action, Input, ValueType
from studio.flow.models import Endpoint, Flow, Node, Note, Position, RetryPolicy, Wire
from studio.flow.validate import looks_like_secret_key, output_ports

HERE = Path(__file__).parent
BROKEN = HERE / "broken"
GOOD = HERE / "good"
WARNED = HERE / "warned"  # files that load and run, with warnings (flow_warnings)
CATALOG = load_catalog()

NAME_START = string.ascii_letters + "_"
NAME_REST = string.ascii_letters + string.digits + "_ -"


def _not_secret_text(s: str) -> bool:
    t = s.strip()
    return not t.startswith("sk-") and not t.lower().startswith("bearer ")


plain_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30).filter(_not_secret_text)
keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).filter(
    lambda k: not looks_like_secret_key(k))
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | finite | plain_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)

names = st.builds(lambda a, b: (a + b).rstrip() or a, st.sampled_from(NAME_START),
                  st.text(st.sampled_from(NAME_REST), max_size=20))
ids = st.text(st.sampled_from(string.ascii_lowercase + string.digits + "-"), min_size=1, max_size=12)
positions = st.builds(Position, x=finite, y=finite)
retries = st.builds(RetryPolicy, max_tries=st.integers(1, 10), wait_ms=st.integers(0, 600_000))


@st.composite
def any_flows(draw: Any) -> Flow:
    """Flows the models accept; the catalog rules may not hold (unknown actions, dangling wires)."""
    nodes = draw(st.lists(st.builds(
        Node, id=ids, action=st.sampled_from([a.id for a in CATALOG.actions]) | ids, name=names,
        values=st.dictionaries(keys, json_values, max_size=4), position=positions, disabled=st.booleans(),
        on_error=st.sampled_from(["stop", "continue", "route"]), retry=retries, notes=plain_text,
    ), max_size=6))
    node_ids = [n.id for n in nodes] or ["x"]
    endpoint = st.builds(Endpoint, node=st.sampled_from(node_ids) | ids, port=st.sampled_from(["in", "output", "error"]) | ids)
    wires = draw(st.lists(st.builds(Wire, source=endpoint, target=endpoint), max_size=6))
    notes = draw(st.lists(st.builds(Note, id=ids, text=plain_text, position=positions,
                                    width=st.floats(0.5, 5000), height=st.floats(0.5, 5000)), max_size=3))
    return Flow(
        id=draw(ids), name=draw(plain_text), description=draw(plain_text), version=draw(st.integers(1, 10**6)),
        nodes=nodes, wires=wires, notes=notes, settings=draw(st.dictionaries(keys, json_values, max_size=3)),
    )


def value_for(spec: Input) -> st.SearchStrategy[Any]:
    """Values the engine can use for `spec`, as an editor would store them."""
    lo = spec.minimum if spec.minimum is not None else -1e6
    hi = spec.maximum if spec.maximum is not None else 1e6
    t = spec.type
    if t is ValueType.NUMBER:
        return st.floats(lo, hi) | st.integers(int(-(-lo // 1)), int(hi // 1))
    if t is ValueType.INTEGER:
        return st.integers(int(-(-lo // 1)), int(hi // 1))
    if t is ValueType.BOOLEAN:
        return st.booleans()
    if t is ValueType.ENUM:
        return st.sampled_from([o.value for o in spec.options or []])
    if t is ValueType.KEY_VALUE:
        return st.dictionaries(st.sampled_from(["a", "b", "c", "billing", "other"]), plain_text, max_size=3)
    if t is ValueType.STRING_LIST:
        return st.lists(plain_text, max_size=3)
    if t is ValueType.JSON:
        return json_values
    return plain_text | st.just("{{ trigger.topic }}")


WRITTEN_OUT = {"agent.add_local_mcp_server": {"command", "args"}, "agent.add_remote_mcp_server": set(),
               "http.request": set()}


@st.composite
def valid_flows(draw: Any) -> Flow:
    """Flows that pass `validate_flow` against the real catalog: a trigger, then actions in
    order, each wired only from earlier nodes (so never a cycle)."""
    triggers = [a for a in CATALOG.actions if a.kind == "trigger"]
    others = [a for a in CATALOG.actions if a.kind != "trigger"]
    chosen: list[Action] = [draw(st.sampled_from(triggers))]
    chosen += draw(st.lists(st.sampled_from(others), max_size=7))
    nodes: list[Node] = []
    for i, action in enumerate(chosen):
        specs = draw(st.lists(st.sampled_from(action.inputs), max_size=4, unique_by=lambda s: s.key)) if action.inputs else []
        values = {s.key: draw(value_for(s)) for s in specs}
        if action.id in WRITTEN_OUT:  # a program or a host is never computed (flow/capabilities.py)
            values = {k: v for k, v in values.items() if k not in WRITTEN_OUT[action.id] or "{{" not in json.dumps(v)}
            if "server_url" in values:
                values["server_url"] = "https://mcp.example.com/mcp"
            if "url" in values:
                values["url"] = "https://api.example.com/v1/items"
        nodes.append(Node(id=f"n{i}", action=action.id, name=f"Step {i}", values=values,
                          position=draw(positions), disabled=draw(st.booleans()),
                          on_error=draw(st.sampled_from(["stop", "continue", "route"])), retry=draw(retries)))
    wires: list[Wire] = []
    seen = set()
    for j in range(1, len(nodes)):
        for _ in range(draw(st.integers(0, 2))):
            i = draw(st.integers(0, j - 1))
            src_ports = sorted(output_ports(nodes[i], chosen[i]) or {"error"})
            sport = draw(st.sampled_from(src_ports))
            key = (i, sport, j)
            if key in seen:
                continue
            seen.add(key)
            wires.append(Wire(source=Endpoint(node=nodes[i].id, port=sport), target=Endpoint(node=nodes[j].id, port="in")))
    return Flow(name=draw(plain_text), nodes=nodes, wires=wires)
