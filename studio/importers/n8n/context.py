"""What every node mapping needs while a workflow is converted: the name table, the report,
the sub-nodes (model, memory, tools, parser) attached to a node, expression translation and
the making of flow nodes that keep the n8n node's place, state and run rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from studio.flow.models import Node, Position, RetryPolicy, Wire, Endpoint

from .expressions import Untranslatable, is_expression, translate_text
from .names import NameTable
from .report import ImportReport
from .workflow import N8nNode


@dataclass
class Mapped:
    """The flow side of one n8n node. `node` takes n8n's main input and carries its name;
    `outputs[i]` is the port of n8n output index i (leaving `out_node`, default `node`),
    `inputs[i]` the port of n8n input index i; `ai_ports` says where sub-nodes wire in
    (n8n connection type -> (node id, input key)); `extra` nodes and wires come along."""

    node: Node
    outputs: list[str] = field(default_factory=lambda: ["output"])
    inputs: list[str] = field(default_factory=lambda: ["in"])
    ai_ports: dict[str, tuple[str, str]] = field(default_factory=dict)
    extra: list[Node] = field(default_factory=list)
    extra_wires: list[Wire] = field(default_factory=list)
    out_node: Node | None = None

    @property
    def source(self) -> Node:
        return self.out_node or self.node


def wire(source: Node, port: str, target: Node, target_port: str = "in") -> Wire:
    return Wire(source=Endpoint(node=source.id, port=port), target=Endpoint(node=target.id, port=target_port))


class Context:
    def __init__(self, names: NameTable, report: ImportReport, settings: dict[str, Any]) -> None:
        self.names = names
        self.report = report
        self.settings = settings  # the workflow's own settings (timezone ...)
        self.subs: dict[str, dict[str, list[N8nNode]]] = {}
        self.consumed: set[str] = set()  # n8n names of sub-nodes folded into their parent
        self.chat_trigger = False  # the workflow starts from a Chat Trigger (memory = its history)
        self.shapes: dict[str, list[tuple[list[str], list[str]]]] = {}  # see expressions.Shapes
        self.main_source: dict[str, str] = {}  # n8n name -> the one node feeding its main input

    # -- sub-nodes ------------------------------------------------------------------------------

    def sub_nodes(self, parent: N8nNode, kind: str) -> list[N8nNode]:
        return list(self.subs.get(parent.name, {}).get(kind, []))

    def fold(self, sub: N8nNode) -> None:
        """`sub` became settings of its parent: it has no node of its own."""
        self.consumed.add(sub.name)

    # -- values ---------------------------------------------------------------------------------

    def resolve(self, n8n_name: str) -> str | None:
        return self.names.get(n8n_name)

    def value(self, node: N8nNode | str, where: str, value: Any) -> Any:
        """`value` with resource locators unwrapped and n8n expressions in our syntax; an
        expression without an equivalent stays as text and is listed in the report."""
        owner = self.names.get(node.name) or node.name if isinstance(node, N8nNode) else node
        source = self.main_source.get(node.name) if isinstance(node, N8nNode) else None
        return self._value(owner, where, value, 0, source)

    def _value(self, owner: str, where: str, value: Any, depth: int, source: str | None = None) -> Any:
        if depth > 60:
            return None
        if isinstance(value, dict):
            if value.get("__rl") is True or ("__rl" in value and "value" in value):
                return self._value(owner, where, value.get("value"), depth + 1, source)
            return {str(k): self._value(owner, f"{where}.{k}", v, depth + 1, source) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(owner, f"{where}[{i}]", v, depth + 1, source) for i, v in enumerate(value)]
        if isinstance(value, str) and is_expression(value):
            try:
                return translate_text(value, self.resolve, lambda name: self.shapes.get(name, []), source)
            except Untranslatable:
                self.report.untranslated(owner, where, value[1:])
                return value[1:]
        return value

    def param(self, node: N8nNode, key: str, default: Any = None) -> Any:
        """A parameter (with n8n's default when the file omits it), translated."""
        return self.value(node, key, node.param(key, default))

    # -- nodes ----------------------------------------------------------------------------------

    def make(self, n8n: N8nNode, action: str, values: dict[str, Any], *, name: str | None = None,
             dx: float = 0.0, dy: float = 0.0) -> Node:
        """A flow node for `n8n` (its own name unless `name` is given for an extra node)."""
        node_name = name if name is not None else (self.names.get(n8n.name) or self.names.add(n8n.name))
        clean = {k: v for k, v in values.items() if v is not None}
        return Node(action=action, name=node_name, values=clean,
                    position=Position(x=n8n.position[0] + dx, y=n8n.position[1] + dy),
                    disabled=n8n.disabled, on_error=n8n.on_error if name is None else "stop",
                    retry=RetryPolicy(max_tries=n8n.max_tries, wait_ms=n8n.wait_ms) if name is None else RetryPolicy(),
                    notes=n8n.notes if name is None else "")


Mapper = Callable[[N8nNode, Context], "Mapped | None"]
MAPPERS: dict[str, Mapper] = {}


def maps(*types: str) -> Callable[[Mapper], Mapper]:
    """Register a mapping for n8n node types (full type names)."""

    def decorate(fn: Mapper) -> Mapper:
        for t in types:
            MAPPERS[t] = fn
        return fn

    return decorate
