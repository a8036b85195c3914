"""A flow's run plan: what every run of one flow works out the same way (nodes and wires by id,
each node's catalog action, flow order, names to ids, and what the run may do on this machine),
built once and shared by every run of that flow.

A run builds its own plan when given none (the editor, `studio run`: each run may be of an edited
flow). A caller that runs the same unchanged flow again and again (`studio serve`: one run per
webhook call) builds one with `FlowPlan.build` and hands it to every run, so none of them redoes
the work. A plan is never changed once built: its maps are read-only; a run keeps its own state
(results, ports) elsewhere. It reads the flow's own nodes and wires, so the flow must not change
while a plan of it is in use (the editor runs a copy; `studio serve` never edits its flows)."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from studio.flow.capabilities import FlowCapabilities, Grant, analyse
from studio.paths import data_dir

from .inputs import InputShape
from .planning import LinkGroups, cycle_in

if TYPE_CHECKING:  # pragma: no cover
    from studio.catalog.catalog import Catalog
    from studio.catalog.models import Action
    from studio.flow.models import Flow, Node


def _absolute(path: Any) -> Path:
    if isinstance(path, Path) and path.is_absolute() and ".." not in path.parts:
        return path  # already what abspath would make of it (a Path has no "." parts)
    return Path(os.path.abspath(path))


class _ActionsByNode(Mapping):
    """Node id -> its catalog action (None: not in the catalog), read through the node's action id:
    a flow has a few actions and may have 10,000 nodes, so no entry per node is kept."""

    __slots__ = ("_nodes", "_by_action")

    def __init__(self, nodes: Mapping[str, "Node"], by_action: dict[str, "Action | None"]) -> None:
        self._nodes = nodes
        self._by_action = by_action

    def __getitem__(self, nid: str) -> "Action | None":
        return self._by_action[self._nodes[nid].action]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)


@dataclass(frozen=True, eq=False)
class FlowPlan:
    flow: "Flow"
    catalog: "Catalog"
    nodes: Mapping[str, "Node"]
    # The wires whose both ends are nodes of the flow, as (source, source port, target, target
    # port) links grouped by the node they go into / come out of (engine/planning.py).
    incoming: LinkGroups
    outgoing: LinkGroups
    actions: Mapping[str, "Action | None"]  # by node id; None: not in the catalog (the node fails when it runs)
    order: Mapping[str, int]  # a node's place in the flow (runs start ready nodes in that order; results by it)
    trigger_ids: frozenset[str] = frozenset()  # the trigger nodes (their action's kind, else a "trigger." id)
    # The names of the nodes on a cycle of the whole flow (None: no cycle), and each action's
    # input shape (engine/inputs.py), by action id: worked out once, not per run.
    cycle: tuple[str, ...] | None = None
    input_shapes: Mapping[str, InputShape] = field(default_factory=lambda: MappingProxyType({}))
    # Set when the caller analysed the flow (studio/flow/capabilities.py) for a given folder: every
    # run from that folder gets its grant from these without analysing again.
    capabilities: FlowCapabilities | None = None
    flow_dir: str | None = None
    # Folders every run of `flow_dir` may read, made absolute once: the flow's (if any) and the
    # runs folder as it was named when the plan was built.
    _folder_root: tuple[Path, ...] = ()
    _runs_root: Path | None = None
    # What running a node of each action needs (its handler, ...; engine/node_execution.py), by
    # action id, for the registry they were looked up in: shared by the runs that use it.
    _handler_plans: dict[int, tuple[Any, dict[str, Any]]] = field(default_factory=dict)

    def handler_plans(self, registry: Any) -> dict[str, Any]:
        """The action plans of runs with `registry` (filled in by the first runs that need them)."""
        kept = self._handler_plans.get(id(registry))
        if kept is None or kept[0] is not registry:  # kept: the registry itself, so its id stays its own
            if len(self._handler_plans) >= 4:  # registries come and go only in tests
                self._handler_plans.clear()
            kept = self._handler_plans[id(registry)] = (registry, {})
        return kept[1]

    @classmethod
    def build(cls, flow: "Flow", catalog: "Catalog", *, capabilities: FlowCapabilities | None = None,
              flow_dir: str | None = None) -> "FlowPlan":
        """The plan of `flow`. `capabilities`: `analyse(flow, catalog, flow_dir)` made by the caller,
        for runs whose `flow_dir` service is `flow_dir` (other runs analyse for themselves)."""
        # One pass over the nodes and one over the wires (a model's attributes cost more to read
        # than a dict's items, and a flow may have 10,000 nodes). The plan keeps per node only
        # what a run reads by node id: the node, its place; the rest is by action or computed.
        nodes: dict[str, Node] = {}
        order: dict[str, int] = {}
        for index, node in enumerate(flow.nodes):
            nid = node.id
            nodes[nid] = node
            order[nid] = index
        wires, sources, targets = [], [], []  # the wires between nodes of the flow, their ends' places
        for wire in flow.wires:
            source, target = order.get(wire.source.node), order.get(wire.target.node)
            if source is not None and target is not None:
                wires.append(wire)
                sources.append(source)
                targets.append(target)
        found: dict[str, Action | None] = {}  # each action looked up in the catalog once
        for action_id in {node.action for node in flow.nodes}:
            found[action_id] = catalog.get(action_id) if action_id in catalog else None
        triggers = {a for a, action in found.items()
                    if (action.kind == "trigger" if action is not None else a.startswith("trigger."))}
        wires_kept = tuple(wires)
        incoming = LinkGroups(order, wires_kept, targets)
        outgoing = LinkGroups(order, wires_kept, sources)
        # Every wire going to a node later in the flow: no cycle (a flow made in the editor or by a
        # script is mostly laid out that way), found in one pass, far cheaper than `cycle_in`.
        forward = all(source < target for source, target in zip(sources, targets))
        del wires, sources, targets
        cycle = None if forward else cycle_in(set(nodes), nodes, incoming, outgoing)
        return cls(
            flow=flow, catalog=catalog, nodes=MappingProxyType(nodes),
            incoming=incoming, outgoing=outgoing,
            cycle=tuple(cycle) if cycle else None,
            input_shapes=MappingProxyType({a: InputShape(action) for a, action in found.items()}),
            actions=_ActionsByNode(nodes, found),
            order=MappingProxyType(order),
            trigger_ids=frozenset(node.id for node in flow.nodes if node.action in triggers),
            capabilities=capabilities, flow_dir=flow_dir, _folder_root=(_absolute(flow_dir),) if flow_dir else (),
            _runs_root=_absolute(data_dir(make=False) / "runs"),
        )

    @functools.cached_property
    def ids_by_name(self) -> Mapping[str, str]:
        """Node name -> id, made the first time a run asks (an expression reading `nodes`, a pin or
        a partial run by name), then kept with the plan."""
        return MappingProxyType({node.name: node.id for node in self.flow.nodes})

    def grant(self, *, flow_dir: Any, run_dir: Path, trusted: bool,
              capabilities: FlowCapabilities | None = None) -> Grant:
        """What one run may do: reading in the flow's folder, the run's own folder and the runs
        folder, and, when `trusted`, what the analysis lists (`capabilities`, else the plan's when
        the run is from the folder the plan was analysed for, else analysed now)."""
        if flow_dir == self.flow_dir:
            known = capabilities if capabilities is not None else self.capabilities
            return Grant(known if known is not None else analyse(self.flow, self.catalog, flow_dir), trusted,
                         (*self._folder_root, _absolute(run_dir), self._runs_root))
        return Grant.for_flow(self.flow, self.catalog, flow_dir=flow_dir, trusted=trusted,
                              roots=(run_dir, data_dir(make=False) / "runs"), capabilities=capabilities)
