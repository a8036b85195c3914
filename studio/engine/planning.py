"""Which nodes a run covers and when each may start: the scope of a partial run, the trigger that
fires, cycles, and the readiness rule (every wire settled, at least one active; else skipped
with the reason inherited from upstream). A mixin of the executor's run, which holds the state."""

from __future__ import annotations

from typing import Any, Mapping

from .events import NODE_FINAL_STATES
from .results import NodeResult, jsonable

# A wire as a run uses it: (source node, source port, target node, target port), a plain tuple of
# text. A run holds one per wire for its whole length, and the cycle collector stops tracking such
# tuples (and tuples of them), so a 10,000-node run does not add 10,000 objects for it to promote
# and walk. SOURCE and TARGET are the positions of the two nodes.
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
    """Whether output `port` of a finished node is active, given its `ports[nid]` (a dict of the
    active ports, or OUTPUT_ON_EVERY_PORT: every port but `error`)."""
    return port != "error" if ports is OUTPUT_ON_EVERY_PORT else port in ports


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


class Links(dict):
    """Node id -> its links in flow order; a node without any has `()` (looking it up adds nothing,
    so `nid in incoming` says whether any wire leads into it)."""

    def __missing__(self, key: str) -> tuple[()]:
        return ()


def group_links(links: list[tuple[Link]], end: int) -> Links:
    """`links` (each a 1-tuple of one link) grouped by the node at position `end` (SOURCE or
    TARGET), each group a tuple in flow order (no list per node is kept: those would be tracked
    until the run ends). Most nodes have one link at each end, so a group starts as the link's
    1-tuple, the same object for both ends (one 48-byte tuple less per wire), and only a node with
    more gets a list while grouping."""
    groups: dict[str, tuple[Link, ...]] = {}
    more: dict[str, list[Link]] = {}
    for single in links:
        link = single[0]
        nid = link[end]
        group = groups.get(nid)
        if group is None:
            groups[nid] = single
        elif nid in more:
            more[nid].append(link)
        else:
            more[nid] = [group[0], link]
    for nid, group in more.items():
        groups[nid] = tuple(group)
    return Links(groups)


def runs_forward(links: list[tuple[Link]], order: Mapping[str, int]) -> bool:
    """Whether every link (each a 1-tuple, as `group_links` takes them) goes from a node to one
    later in `order` (then the flow has no cycle: a flow made in the editor or by a script is
    mostly laid out that way). One pass, far cheaper than `cycle_in`, which is needed only when
    this says no."""
    return all(order[source] < order[target] for ((source, _, target, _),) in links)


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
        not_fired = {nid for nid in trigger_ids if nid in scope and nid != chosen and nid != self.target}
        pending = self.pending
        if whole and not not_fired:
            pending.update(dict.fromkeys(ids))
        else:
            for nid in ids:
                if nid not in scope:
                    continue
                if nid in not_fired:
                    self._skip(nid, "trigger_not_fired")
                else:
                    pending[nid] = None
        # The first to look at: nodes without wires into them, the trigger and a partial run's
        # target. Any other node is looked at when one of its sources ends (those skipped above
        # already made it a candidate), so a run examines each node a few times, not N.
        self.candidates.update(pending.keys() - self.incoming.keys())
        self.candidates.update(nid for nid in (chosen, self.target) if nid in pending)

    # --- scheduling -----------------------------------------------------------------------------

    def _decide(self, nid: str) -> tuple[str, str | None]:
        """("run", None), ("skip", reason), ("wait", "trigger") (until the trigger ends) or ("wait", None)."""
        chosen = self.chosen_trigger
        if nid == chosen or nid == self.target:
            return "run", None
        results = self.results
        if chosen and results[chosen].status not in NODE_FINAL_STATES:
            return "wait", "trigger"
        links = self.incoming[nid]
        if not links:
            return "run", None
        ports = self.ports
        active = False
        for source, port, _, _ in links:
            if results[source].status not in NODE_FINAL_STATES:
                return "wait", None
            if not active:
                active = port_active(ports.get(source, ()), port)
        if active:
            return "run", None
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

