"""Which nodes a run covers and when each may start: the scope of a partial run, the trigger that
fires, cycles, and the readiness rule (every wire settled, at least one active; else skipped
with the reason inherited from upstream). A mixin of the executor's run, which holds the state."""

from __future__ import annotations

from .results import NodeResult, jsonable

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

    def is_trigger(self, node_id: str) -> bool:
        action = self.actions[node_id]
        return action.kind == "trigger" if action is not None else self.nodes[node_id].action.startswith("trigger.")

    def _descendants(self, node_id: str) -> set[str]:
        seen = {node_id}
        stack = [node_id]
        while stack:
            for wire in self.outgoing[stack.pop()]:
                if wire.target.node not in seen:
                    seen.add(wire.target.node)
                    stack.append(wire.target.node)
        return seen

    def _scope_nodes(self) -> set[str]:
        if self.target is None:
            return set(self.nodes)
        if self.only:
            return {self.target}
        return self._descendants(self.target)

    def _choose_trigger(self, scope: set[str]) -> str | None:
        if self.trigger_node is not None:
            return self.trigger_node
        if self.target is not None and self.is_trigger(self.target):
            return self.target
        triggers = [n for n in self.flow.nodes if n.id in scope and self.is_trigger(n.id)]
        enabled = [n for n in triggers if not n.disabled] or triggers
        for node in enabled:
            if node.action == "trigger.manual":
                return node.id
        return enabled[0].id if enabled else None

    def _cycle(self, scope: set[str]) -> list[str] | None:
        """Names of nodes on a cycle among `scope`, or None (Kahn's algorithm)."""
        indegree = dict.fromkeys(scope, 0)
        for nid in scope:
            for wire in self.incoming[nid]:
                if wire.source.node in indegree:
                    indegree[nid] += 1
        ready = [nid for nid, d in indegree.items() if d == 0]
        left = len(indegree)
        while ready:
            nid = ready.pop()
            left -= 1
            for wire in self.outgoing[nid]:
                target = wire.target.node
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
                if not any(w.target.node in stuck for w in self.outgoing[nid]):
                    stuck.discard(nid)
                    changed = True
        return [self.nodes[nid].name for nid in self.nodes if nid in stuck] or None

    def _plan(self) -> None:
        if self.loop_of is not None:  # a loop body's run (engine/loops.py)
            self._plan_body()
            return
        # A pinned node does not run (n8n's pinned data): its pinned value is its output, unless
        # it is the very node the user asked to run.
        scope = self._scope_nodes() - {nid for nid in self.pinned if nid != self.target}
        chosen = self._choose_trigger(scope)
        self.chosen_trigger = chosen
        for node in self.flow.nodes:
            if node.id in scope:
                continue
            if node.id in self.pinned:
                output = jsonable(self.pinned[node.id])
                self._skip(node.id, "pinned", output=output, has_output=True)
                self._activate(node.id, output)
                if node.id == chosen or (chosen is None and self.is_trigger(node.id)):
                    self.trigger_value = output
            else:
                self._skip(node.id, "not_in_run")
        cycle = self._cycle(scope)
        if cycle:
            message = "the flow has a cycle through " + ", ".join(cycle) + "; a flow must not loop back"
            self.stop_error = {"message": message, "details": {"nodes": cycle}, "type": "FlowCycle", "node": None}
            for node in self.flow.nodes:
                if node.id in scope:
                    self._skip(node.id, "cycle")
            return
        for node in self.flow.nodes:
            if node.id not in scope:
                continue
            if self.is_trigger(node.id) and node.id != chosen and node.id != self.target:
                self._skip(node.id, "trigger_not_fired")
            else:
                self.pending[node.id] = None
        # The first to look at: nodes without wires into them, the trigger and a partial run's
        # target. Any other node is looked at when one of its sources ends (those skipped above
        # already made it a candidate), so a run examines each node a few times, not N.
        self.candidates.update(nid for nid in self.pending if nid not in self.incoming)
        self.candidates.update(nid for nid in (chosen, self.target) if nid in self.pending)

    # --- scheduling -----------------------------------------------------------------------------

    def _decide(self, nid: str) -> tuple[str, str | None]:
        """("run", None), ("skip", reason), ("wait", "trigger") (until the trigger ends) or ("wait", None)."""
        if nid == self.target or nid == self.chosen_trigger:
            return "run", None
        if self.chosen_trigger and nid != self.chosen_trigger and not self.results[self.chosen_trigger].final:
            return "wait", "trigger"
        wires = self.incoming[nid]
        if not wires:
            return "run", None
        reasons: set[str] = set()
        active = False
        for wire in wires:
            source = self.results[wire.source.node]
            if not source.final:
                return "wait", None
            if wire.source.port in self.ports.get(wire.source.node, {}):
                active = True
            else:
                reasons.add(self._reason_from(source))
        if active:
            return "run", None
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

