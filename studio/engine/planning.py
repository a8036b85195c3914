"""Which nodes a run covers and when each may start: the scope of a partial run, the trigger that
fires, cycles, and the readiness rule (every wire settled, at least one active; else skipped
with the reason inherited from upstream). A mixin of the executor's run, which holds the state."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .events import NODE_FINAL_STATES
from .results import NodeResult, jsonable

# A wire as a run uses it: (source node, source port, target node, target port), a plain tuple of
# text, made when a run asks for a node's links (engine/plan.py keeps none of them). SOURCE and
# TARGET are the positions of the two nodes.
Link = tuple[str, str, str, str]
SOURCE, TARGET = 0, 2


class _OutputOnEveryPort:
    """A run's `ports[nid]` (active output port -> value) for the usual node, whose every normal
    output port (all but `error`) carries the node's output as it is: this one marker instead of
    a dict per node (64 bytes each); the value is the node's `results[nid].output`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OUTPUT_ON_EVERY_PORT"


OUTPUT_ON_EVERY_PORT: Any = _OutputOnEveryPort()


def port_active(ports: Any, port: str) -> bool:
    """Whether output `port` of a finished node is active, given its entry of the run's `ports`
    (a dict of the active ports, `()` for none, None before it ends, or OUTPUT_ON_EVERY_PORT:
    every port but `error`)."""
    if ports is OUTPUT_ON_EVERY_PORT:
        return port != "error"
    return ports is not None and port in ports


def cycle_in(scope: set[str], nodes: Mapping[str, Any], incoming: Mapping[str, tuple[Link, ...]],
         outgoing: Mapping[str, tuple[Link, ...]]) -> list[str] | None:
    """Names of nodes on a cycle among `scope`, or None (Kahn's algorithm)."""
    if len(scope) == len(nodes):  # the whole flow: every wire counts
        indegree = {nid: len(incoming[nid]) for nid in scope}
    else:
        indegree = {nid: sum(link[SOURCE] in scope for link in incoming[nid]) for nid in scope}
    ready = [nid for nid, d in indegree.items() if d == 0]
    left = len(indegree)
    while ready:
        left -= 1
        for _, _, target, _ in outgoing[ready.pop()]:
            if target in indegree:
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
    if not left:
        return None
    stuck = {nid for nid, d in indegree.items() if d > 0}
    # What remains is the cycles plus whatever hangs below them; peel off the nodes that feed
    # nothing that remains, so the message names only the nodes on a loop.
    changed = True
    while changed:
        changed = False
        for nid in list(stuck):
            if not any(link[TARGET] in stuck for link in outgoing[nid]):
                stuck.discard(nid)
                changed = True
    return [nodes[nid].name for nid in nodes if nid in stuck] or None


def _link(wire: Any) -> Link:
    source, target = wire.source, wire.target
    return (source.node, source.port, target.node, target.port)


class LinkGroups(Mapping):
    """Node id -> its links in flow order, each made when asked from the flow's own wires; a node
    without any has `()` and is no key (`nid in incoming` says whether any wire leads into it).

    What is kept is two integer columns: the wires in group order, and where each node's group
    starts in it (by the node's place in the flow), 8 bytes a wire and 8 a node. A tuple per link
    and a tuple and a dict entry per group cost about 160 bytes a wire for both groupings (a
    10,000-node chain: 1.6 MB for the life of every run). Reading a group makes its tuples."""

    __slots__ = ("_order", "_wires", "_start", "_members")

    def __init__(self, order: Mapping[str, int], wires: Sequence[Any], ends: Sequence[int]) -> None:
        """`wires`: the flow's wires whose both ends are nodes; `ends[k]`: the place in the flow of
        the node this grouping is by, at wire k's end (its target for `incoming`)."""
        # A counting sort straight into the two columns (no list of numbers on the way: a
        # 10,000-node flow would hold 10,000 int objects for a while).
        size = len(order)
        start = array("q", bytes(8 * (size + 1)))
        for at in ends:
            start[at + 1] += 1
        for at in range(size):
            start[at + 1] += start[at]
        members = array("q", bytes(8 * len(ends)))
        free = array("q", start)  # the next free slot of each group: a group's wires stay in flow order
        for wire, at in enumerate(ends):
            members[free[at]] = wire
            free[at] += 1
        self._order = order
        self._wires = wires
        self._start = start
        self._members = members

    def __getitem__(self, nid: str) -> tuple[Link, ...]:
        at = self._order.get(nid)
        if at is None:
            return ()
        start = self._start
        first, end = start[at], start[at + 1]
        if end - first == 1:  # most nodes: one wire
            return (_link(self._wires[self._members[first]]),)
        wires = self._wires
        return tuple([_link(wires[k]) for k in self._members[first:end]])

    def __contains__(self, nid: object) -> bool:
        at = self._order.get(nid)  # type: ignore[call-overload]
        return at is not None and self._start[at + 1] > self._start[at]

    def __iter__(self) -> Iterator[str]:
        start = self._start
        return (nid for nid, at in self._order.items() if start[at + 1] > start[at])

    def __len__(self) -> int:
        start = self._start
        return sum(1 for at in range(len(start) - 1) if start[at + 1] > start[at])

    def unlinked(self) -> list[str]:
        """The nodes without any link, in flow order."""
        start = self._start
        return [nid for nid, at in self._order.items() if start[at + 1] == start[at]]


# Skip reasons passed on to nodes downstream, most telling first.
_INHERITED_REASONS = (
    "upstream_failed",
    "upstream_waiting",
    "upstream_cancelled",
    "branch_not_taken",
    "trigger_not_fired",
    "not_in_run",
    "upstream_skipped",
)


class RunPlanning:
    """Set-up and readiness decisions of a run (see the executor module's rules)."""

    def _node_id(self, name_or_id: str) -> str:
        if name_or_id in self.nodes:
            return name_or_id
        for node in self.flow.nodes:
            if node.name == name_or_id:
                return node.id
        raise ValueError(f"no node {name_or_id!r} in flow {self.flow.name!r}")

    def _descendants(self, node_id: str) -> set[str]:
        seen = {node_id}
        stack = [node_id]
        while stack:
            for _, _, target, _ in self.outgoing[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def _scope_nodes(self) -> set[str]:
        if self.target is None:
            return set(self.nodes)
        if self.only:
            return {self.target}
        return self._descendants(self.target)

    def _choose_trigger(self, scope: set[str], trigger_ids: frozenset[str]) -> str | None:
        if self.trigger_node is not None:
            return self.trigger_node
        if self.target is not None and self.target in trigger_ids:
            return self.target
        order = self.order
        triggers = [self.nodes[nid] for nid in sorted(trigger_ids, key=order.__getitem__) if nid in scope]
        enabled = [n for n in triggers if not n.disabled] or triggers
        for node in enabled:
            if node.action == "trigger.manual":
                return node.id
        return enabled[0].id if enabled else None

    def _cycle(self, scope: set[str]) -> list[str] | None:
        """Names of nodes on a cycle among `scope`, or None; for the whole flow, the plan's."""
        if len(scope) == len(self.nodes):
            return list(self.plan.cycle) if self.plan.cycle else None
        return cycle_in(scope, self.nodes, self.incoming, self.outgoing)

    def _plan(self) -> None:
        if self.loop_of is not None:  # a loop body's run (engine/loops.py)
            self._plan_body()
            return
        # A pinned node does not run (n8n's pinned data): its pinned value is its output, unless
        # it is the very node the user asked to run.
        if self.target is None and not self.pinned:
            scope: Any = self.order  # the whole flow (its ids' map: no set of 10,000 ids made for a run)
        else:
            scope = self._scope_nodes() - {nid for nid in self.pinned if nid != self.target}
        trigger_ids = self.plan.trigger_ids
        chosen = self._choose_trigger(scope, trigger_ids)
        self.chosen_trigger = chosen
        ids = self.order  # every node id, in flow order
        whole = len(scope) == len(ids)
        if not whole:
            for nid in ids:
                if nid in scope:
                    continue
                if nid in self.pinned:
                    output = jsonable(self.pinned[nid])
                    self._skip(nid, "pinned", output=output, has_output=True)
                    self._activate(nid, output)
                    if nid == chosen or (chosen is None and nid in trigger_ids):
                        self.trigger_value = output
                else:
                    self._skip(nid, "not_in_run")
        cycle = self._cycle(scope)
        if cycle:
            message = "the flow has a cycle through " + ", ".join(cycle) + "; a flow must not loop back"
            self.stop_error = {"message": message, "details": {"nodes": cycle}, "type": "FlowCycle", "node": None}
            for nid in ids:
                if nid in scope:
                    self._skip(nid, "cycle")
            return
        # Every node of the run is pending from the start (its status); the triggers that do not
        # fire are skipped, as the nodes outside a partial run were above.
        for nid in sorted(trigger_ids, key=ids.__getitem__):  # in flow order
            if nid in scope and nid != chosen and nid != self.target:
                self._skip(nid, "trigger_not_fired")
        # The first to look at: nodes without wires into them, the trigger and a partial run's
        # target. Any other node is looked at when one of its sources ends (those skipped above
        # already made it a candidate), so a run examines each node a few times, not N.
        status = self.status
        self.candidates.update(nid for nid in self.incoming.unlinked() if status[ids[nid]] == "pending")
        self.candidates.update(nid for nid in (chosen, self.target) if nid is not None and status[ids[nid]] == "pending")

    # --- scheduling -----------------------------------------------------------------------------

    def _decide(self, nid: str) -> tuple[str, str | None]:
        """("run", None), ("skip", reason), ("wait", "trigger") (until the trigger ends) or ("wait", None)."""
        chosen = self.chosen_trigger
        if nid == chosen or nid == self.target:
            return "run", None
        status, order = self.status, self.order
        if chosen and status[order[chosen]] not in NODE_FINAL_STATES:
            return "wait", "trigger"
        links = self.incoming[nid]
        if not links:
            return "run", None
        ports = self.ports
        active = False
        for source, port, _, _ in links:
            at = order[source]
            if status[at] not in NODE_FINAL_STATES:
                return "wait", None
            if not active:
                active = port_active(ports[at], port)
        if active:
            return "run", None
        results = self.results
        reasons = {self._reason_from(results[source]) for source, _, _, _ in links}
        for reason in _INHERITED_REASONS:
            if reason in reasons:
                return "skip", reason
        return "skip", "upstream_skipped"

    @staticmethod
    def _reason_from(source: NodeResult) -> str:
        if source.status == "failed":
            return "upstream_failed"
        if source.status == "waiting":
            return "upstream_waiting"
        if source.status == "cancelled":
            return "upstream_cancelled"
        if source.status == "succeeded":
            return "branch_not_taken"
        if source.reason in _INHERITED_REASONS:
            return source.reason or "upstream_skipped"
        return "upstream_skipped"

