"""Runs a flow: ready-set scheduling of its nodes on one asyncio loop.

Rules (the UI, the headless runner and handler authors rely on them):

* **Readiness / fan-in.** A node starts once every wire into it is *settled* (its source node is in
  a final state) and at least one of those wires is *active* (the source produced a value on that
  port). When all its wires are settled but none is active, the node is skipped, with the reason
  inherited from upstream (`branch_not_taken`, `upstream_failed`, `upstream_waiting`, ...). Nodes
  without incoming wires start at once; non-trigger nodes also wait for the run's trigger node,
  so `{{ trigger }}` is always its output. Only one trigger fires per run (`trigger_node`, else
  the first enabled Manual trigger, else the first enabled trigger); the others are skipped.
* **Ports.** A plain result activates every output port; a port of an action that declares
  several outputs carries `result[port]` when the result is an object holding that key, else
  the whole result. `Routed(port, value)` activates only `port`. What arrives on the main `in`
  port: one active wire -> its value, several -> a list in wire order, none -> None.
  Wires into an input port (`port=True`) set that input (`multiple` -> list of every active wire).
* **Retry.** A node is tried up to `node.retry.max_tries` times, waiting `wait_ms` between tries,
  on any exception except a `NodeError(retryable=False)`, bad inputs/expressions (never retried),
  `WaitingForApproval` and cancellation. A timeout (`timeout_ms` input) counts as a retryable
  failure.
* **Errors.** The error object is `{"message", "details", "type", "node"}`. `on_error`:
  `stop` - the run fails; in-flight nodes are cancelled (`cancelled`), not-started ones skipped
  (`run_stopped`); `continue` - the node is `failed` but its normal ports carry
  `{"error": <error object>}` so downstream still runs; `route` - the node is `failed`, only its
  `error` port is active and carries the error object. Only `stop` failures fail the run.
* **Disabled** nodes do not run: they pass the value of their `in` port through to every output
  port and end `skipped` (reason `disabled`).
* **Waiting.** A handler raising `WaitingForApproval` ends its node `waiting` (downstream skipped,
  reason `upstream_waiting`); independent branches finish; the run ends `waiting` and
  `RunResult.pending` lists the requests.
* **Cancellation** (`RunHandle.cancel()`): in-flight handlers are cancelled (their
  `ctx.cancelled` event is set first), the rest skipped (`run_cancelled`); every node ends in a
  final state: succeeded, failed, skipped, cancelled or waiting.
* **Partial runs.** `start_at` runs that node and everything downstream of it; `only` runs just
  that node. Nodes outside the run end `skipped` with reason `pinned` (their `pinned_outputs`
  value is their output and flows on their wires) or `not_in_run`. A pinned node is never run,
  in a whole run too, unless it is the node a partial run targets.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from studio.flow.capabilities import Grant
from studio.paths import data_dir

from .context import Artifact, NodeContext, NodeError, Routed, WaitingForApproval
from .events import HANDLER_EVENT_TYPES, NODE_FINAL_STATES, EventBus, EventCallback, RunEvent
from .expressions import ExpressionError, NodeEntry, Scope, to_text
from .inputs import ExpressionOutput, resolve_inputs
from .redaction import recorded_inputs

if TYPE_CHECKING:  # pragma: no cover
    from studio.catalog.catalog import Catalog
    from studio.catalog.models import Action
    from studio.flow.models import Flow, Node, Wire

    from .handlers import HandlerRegistry

log = logging.getLogger(__name__)

RUN_STATUSES = ("succeeded", "failed", "cancelled", "waiting")
# How long cancelled handlers get to finish their clean-up before they are given up on.
CANCEL_GRACE_S = 2.0
PREVIEW_CHARS = 300
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
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


# --- results -----------------------------------------------------------------------------------


@dataclass
class NodeResult:
    node_id: str
    node_name: str
    action: str
    status: str = "pending"  # pending, queued, running, then one of NODE_FINAL_STATES
    output: Any = None
    error: dict[str, Any] | None = None
    reason: str | None = None  # why a node was skipped or cancelled
    inputs: dict[str, Any] | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    attempts: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, Any] | None = None  # {"requests": [...], "state": ...} when waiting

    @property
    def final(self) -> bool:
        return self.status in NODE_FINAL_STATES

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "node_name": self.node_name,
            "action": self.action,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "reason": self.reason,
            "inputs": self.inputs,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
            "attempts": self.attempts,
            "usage": dict(self.usage),
            "waiting": self.waiting,
        }


@dataclass
class RunResult:
    run_id: str
    flow_id: str
    flow_name: str
    status: str  # succeeded | failed | cancelled | waiting
    started_at: float
    finished_at: float
    nodes: dict[str, NodeResult]  # by node id, in flow order
    usage: dict[str, int] = field(default_factory=dict)
    error: dict[str, Any] | None = None  # the failure that stopped the run
    pending: list[dict[str, Any]] = field(default_factory=list)  # approval requests when waiting
    trigger: Any = None  # the trigger payload as the flow saw it
    trigger_node: str | None = None
    events: list[RunEvent] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return round((self.finished_at - self.started_at) * 1000, 3)

    def node(self, name_or_id: str) -> NodeResult:
        if name_or_id in self.nodes:
            return self.nodes[name_or_id]
        for result in self.nodes.values():
            if result.node_name == name_or_id:
                return result
        raise KeyError(f"no node {name_or_id!r} in this run")

    def output(self, name_or_id: str) -> Any:
        return self.node(name_or_id).output

    def to_json(self, *, include_events: bool = False) -> dict[str, Any]:
        doc = {
            "run_id": self.run_id,
            "flow_id": self.flow_id,
            "flow_name": self.flow_name,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
            "usage": dict(self.usage),
            "error": self.error,
            "pending": self.pending,
            "trigger": self.trigger,
            "trigger_node": self.trigger_node,
            "nodes": [r.to_json() for r in self.nodes.values()],
        }
        if include_events:
            doc["events"] = [e.to_json() for e in self.events]
        return doc


# --- helpers -----------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A handler's result as plain JSON data (artifacts become their descriptions)."""
    if isinstance(value, Artifact):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "model_dump") and callable(value.model_dump):
        try:
            return value.model_dump(mode="json")
        except Exception:  # not a pydantic model after all: keep the object
            return value
    return value


def error_object(node: "Node", exc: BaseException) -> dict[str, Any]:
    """The JSON shape of a node failure (what the `error` port and `RunResult` carry)."""
    if isinstance(exc, NodeError):
        message = str(exc) or type(exc).__name__
        details = jsonable(dict(exc.details))
    else:
        text = str(exc)
        message = f"{node.name}: {type(exc).__name__}" + (f": {text}" if text else "")
        details = {}
    return {"message": message, "details": details, "type": type(exc).__name__, "node": node.name}


def add_usage(total: dict[str, int], usage: Any) -> None:
    """Add one call's token usage (Chat `prompt/completion` or Responses `input/output` names)."""
    if not isinstance(usage, dict):
        return
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    overall = usage.get("total_tokens")
    numbers = {}
    for key, value in (("prompt_tokens", prompt), ("completion_tokens", completion), ("total_tokens", overall)):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers[key] = int(value)
    if "total_tokens" not in numbers and ("prompt_tokens" in numbers or "completion_tokens" in numbers):
        numbers["total_tokens"] = numbers.get("prompt_tokens", 0) + numbers.get("completion_tokens", 0)
    for key, value in numbers.items():
        total[key] = total.get(key, 0) + value


def _preview(value: Any) -> str:
    text = to_text(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."


async def _no_connect(name: str | None) -> Any:
    raise NodeError(
        "this run has no way to open OpenAI connections" + (f" (asked for {name!r})" if name else ""),
        retryable=False,
    )


_ENDED = object()  # marks a handler task that finished by itself


# --- the run -----------------------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        flow: "Flow",
        *,
        catalog: "Catalog | None",
        registry: "HandlerRegistry | None",
        trigger_payload: Any,
        connect: Callable[[str | None], Awaitable[Any]] | None,
        run_dir: str | Path | None,
        max_concurrency: int,
        on_event: EventCallback | None,
        services: dict[str, Any] | None,
        start_at: str | None,
        only: str | None,
        pinned_outputs: dict[str, Any] | None,
        run_id: str | None,
        trigger_node: str | None,
        keep_events: bool,
        trusted: bool = False,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if start_at and only:
            raise ValueError("give either start_at or only, not both")
        if catalog is None:
            from studio.catalog.catalog import load_catalog

            catalog = load_catalog()
        if registry is None:
            from .handlers import default_registry

            registry = default_registry()
        self.flow = flow
        self.catalog = catalog
        self.registry = registry
        self.payload = trigger_payload
        self.trigger_value = trigger_payload
        self.connect = connect or _no_connect
        self.run_id = run_id or uuid.uuid4().hex
        self.run_dir = Path(run_dir) if run_dir is not None else Path(tempfile.gettempdir()) / "flow-studio-runs" / self.run_id
        self.max_concurrency = max_concurrency
        self.events: list[RunEvent] = []
        self.bus = EventBus(self.events.append if keep_events else None, on_event)
        self.services = {"catalog": catalog, "registry": registry, **(services or {}), "trigger_payload": trigger_payload}
        # What this run may do on this machine (start, read, contact): handlers ask it, never the file.
        self.services.setdefault("grant", Grant.for_flow(
            flow, catalog, flow_dir=self.services.get("flow_dir"), trusted=trusted,
            roots=(self.run_dir, data_dir() / "runs")))
        self.pinned = dict(pinned_outputs or {})

        self.nodes: dict[str, Node] = {n.id: n for n in flow.nodes}
        self.wires: list[Wire] = [w for w in flow.wires if w.source.node in self.nodes and w.target.node in self.nodes]
        self.incoming: dict[str, list[Wire]] = defaultdict(list)
        self.outgoing: dict[str, list[Wire]] = defaultdict(list)
        for wire in self.wires:
            self.incoming[wire.target.node].append(wire)
            self.outgoing[wire.source.node].append(wire)
        self.actions: dict[str, Action | None] = {
            n.id: (catalog.get(n.action) if n.action in catalog else None) for n in flow.nodes
        }
        self.results: dict[str, NodeResult] = {
            n.id: NodeResult(node_id=n.id, node_name=n.name, action=n.action) for n in flow.nodes
        }
        self.has_output: set[str] = set()
        self.ports: dict[str, dict[str, Any]] = {}  # node id -> active output port -> value
        # Pins may name nodes by id or name; pins of nodes no longer in the flow are ignored.
        names = self.ids_by_name = {n.name: n.id for n in flow.nodes}  # built once: every expression scope uses it
        self.pinned = {names.get(key, key): value for key, value in self.pinned.items() if key in self.nodes or key in names}
        self.target = self._node_id(start_at or only) if (start_at or only) else None
        self.only = bool(only)
        self.trigger_node = self._node_id(trigger_node) if trigger_node else None
        self.chosen_trigger: str | None = None

        # Nodes of the run not yet started or skipped (a dict keeps flow order, removes in O(1)),
        # and those whose readiness may have changed since they were last looked at.
        self.pending: dict[str, None] = {}
        self.candidates: set[str] = set()
        self.order = {n.id: i for i, n in enumerate(flow.nodes)}
        self.tasks: dict[str, asyncio.Task] = {}
        self.contexts: dict[str, NodeContext] = {}
        self.stop = asyncio.Event()
        self.cancel_requested = False
        self.stop_error: dict[str, Any] | None = None
        self.expression_output = ExpressionOutput()  # characters the run's expressions produced
        self.started_at = time.time()
        self.semaphore = asyncio.Semaphore(max_concurrency)

    # --- set-up ---------------------------------------------------------------------------------

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
        indegree = {nid: 0 for nid in scope}
        for wire in self.wires:
            if wire.source.node in scope and wire.target.node in scope:
                indegree[wire.target.node] += 1
        ready = [nid for nid, d in indegree.items() if d == 0]
        while ready:
            nid = ready.pop()
            for wire in self.outgoing[nid]:
                if wire.target.node in indegree:
                    indegree[wire.target.node] -= 1
                    if indegree[wire.target.node] == 0:
                        ready.append(wire.target.node)
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
        self.candidates.update(self.pending)

    # --- scheduling -----------------------------------------------------------------------------

    def _decide(self, nid: str) -> tuple[str, str | None]:
        """("run", None), ("skip", reason) or ("wait", None)."""
        if nid == self.target or nid == self.chosen_trigger:
            return "run", None
        if self.chosen_trigger and nid != self.chosen_trigger and not self.results[self.chosen_trigger].final:
            return "wait", None
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

    def _launch_ready(self) -> None:
        """Start or skip every candidate whose inputs are settled; skipping may settle more."""
        while self.candidates and not self.stop.is_set():
            batch = sorted(self.candidates, key=self.order.__getitem__)
            self.candidates.clear()
            for nid in batch:
                if nid not in self.pending:
                    continue
                verdict, reason = self._decide(nid)
                if verdict == "wait":
                    continue
                del self.pending[nid]
                if verdict == "skip":
                    self._skip(nid, reason or "upstream_skipped")
                elif self.nodes[nid].disabled:
                    self._pass_through(nid)
                else:
                    result = self.results[nid]
                    result.status = "queued"
                    self._emit("node_queued", nid)
                    self.tasks[nid] = asyncio.create_task(self._node_task(nid), name=f"node {self.nodes[nid].name}")

    async def execute(self) -> RunResult:
        self._emit("run_started", None, flow_id=self.flow.id, flow_name=self.flow.name,
                   nodes=len(self.flow.nodes), trigger_payload=self.payload)
        stop_waiter: asyncio.Task | None = None
        try:
            self._plan()
            stop_waiter = asyncio.create_task(self.stop.wait())
            while True:
                self._launch_ready()
                if self.stop.is_set() or not self.tasks:
                    break
                await asyncio.wait({*self.tasks.values(), stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
                self._reap()
            self._reap()
            if self.stop.is_set():
                await self._halt()
        except asyncio.CancelledError:
            # The task running the flow was cancelled from outside (Ctrl-C, closing the window):
            # stop every node cleanly, report, then let the cancellation continue.
            self.cancel_requested = True
            await self._halt()
            self._finish_run()
            raise
        finally:
            if stop_waiter is not None:
                stop_waiter.cancel()
        return self._finish_run()

    def _reap(self) -> None:
        for nid, task in list(self.tasks.items()):
            if not task.done():
                continue
            del self.tasks[nid]
            if task.cancelled():
                continue
            exc = task.exception()
            if exc is not None and not self.results[nid].final:  # a bug in the engine itself
                log.error("node %s crashed the executor", self.nodes[nid].name, exc_info=exc)
                self._fail(nid, exc)

    async def _halt(self) -> None:
        """Cancel every in-flight node and skip every node that has not started."""
        reason = "run_cancelled" if self.cancel_requested else "run_stopped"
        running = list(self.tasks.items())
        for nid, task in running:
            context = self.contexts.get(nid)
            if context is not None:
                context.cancelled.set()
            task.cancel()
        if running:
            _, stuck = await asyncio.wait([t for _, t in running], timeout=CANCEL_GRACE_S)
            for nid, task in running:
                if task in stuck:
                    log.warning("node %s did not stop within %.1f s of being cancelled", self.nodes[nid].name, CANCEL_GRACE_S)
                    self._cancelled(nid, started=True, reason="did_not_stop")
                elif not self.results[nid].final:
                    self._cancelled(nid, started=self.results[nid].started_at is not None, reason=reason)
        self.tasks.clear()
        for nid in list(self.pending):
            self._skip(nid, reason)
        self.pending.clear()

    def _finish_run(self) -> RunResult:
        for nid, result in self.results.items():  # nothing may stay unfinished
            if not result.final:
                self._skip(nid, "run_cancelled" if self.cancel_requested else "unreachable")
        usage: dict[str, int] = {}
        for result in self.results.values():
            add_usage(usage, result.usage)
        pending = [
            {"node_id": r.node_id, "node_name": r.node_name, **(r.waiting or {})}
            for r in self.results.values()
            if r.status == "waiting"
        ]
        if self.cancel_requested:
            status = "cancelled"
        elif self.stop_error is not None:
            status = "failed"
        elif pending:
            status = "waiting"
        else:
            status = "succeeded"
        finished = time.time()
        self._emit("run_finished", None, status=status, duration_ms=round((finished - self.started_at) * 1000, 3),
                   usage=usage, error=self.stop_error)
        return RunResult(
            run_id=self.run_id,
            flow_id=self.flow.id,
            flow_name=self.flow.name,
            status=status,
            started_at=self.started_at,
            finished_at=finished,
            nodes=dict(self.results),
            usage=usage,
            error=self.stop_error,
            pending=pending,
            trigger=self.trigger_value,
            trigger_node=self.chosen_trigger,
            events=list(self.events),
        )

    def request_cancel(self) -> None:
        self.cancel_requested = True
        self.stop.set()

    # --- one node -------------------------------------------------------------------------------

    async def _node_task(self, nid: str) -> None:
        result = self.results[nid]
        started = False
        try:
            async with self.semaphore:
                if self.stop.is_set():
                    self._cancelled(nid, started=False)
                    return
                started = True
                result.status = "running"
                result.started_at = time.time()
                self._emit("node_started", nid)
                await self._execute(nid)
        except asyncio.CancelledError:
            self._cancelled(nid, started=started)
            raise

    def _upstream(self, nid: str) -> tuple[Any, dict[str, list[Any]]]:
        """(value on the `in` port, values of the active wires into other input ports)."""
        main: list[Any] = []
        wired: dict[str, list[Any]] = {}
        for wire in self.incoming[nid]:
            ports = self.ports.get(wire.source.node, {})
            if wire.target.port == "in":
                if wire.source.port in ports:
                    main.append(ports[wire.source.port])
            else:
                values = wired.setdefault(wire.target.port, [])
                if wire.source.port in ports:
                    values.append(ports[wire.source.port])
        wired = {key: values for key, values in wired.items() if values}
        upstream = main[0] if len(main) == 1 else (main if main else None)
        return upstream, wired

    def expression_scope(self, upstream: Any) -> Scope:
        run = {"id": self.run_id, "flow_id": self.flow.id, "flow_name": self.flow.name, "started_at": self.started_at}
        return Scope(trigger=self.trigger_value, nodes=_NodesView(self), input=upstream, run=run)

    async def _execute(self, nid: str) -> None:
        node = self.nodes[nid]
        result = self.results[nid]
        action = self.actions[nid]
        try:
            if action is None:
                raise NodeError(f"{node.name}: unknown action {node.action!r} (not in the catalog)", retryable=False)
            if node.action not in self.registry:
                raise NodeError(f"{node.name}: no handler is installed for action {node.action!r}", retryable=False)
            handler = self.registry.get(node.action)
            upstream, wired = self._upstream(nid)
            inputs = resolve_inputs(node.name, action, node.values, self.expression_scope(upstream), wired,
                                    self.expression_output)
        except Exception as exc:  # bad inputs, a size limit, even MemoryError: the node fails, not the run
            self._fail(nid, exc)
            return
        result.inputs = recorded_inputs(inputs)  # credential headers never reach the records
        timeout_ms = inputs.get("timeout_ms") if any(i.key == "timeout_ms" for i in action.inputs) else None
        timeout_s = timeout_ms / 1000 if isinstance(timeout_ms, (int, float)) and timeout_ms > 0 else None
        context = NodeContext(
            run_id=self.run_id,
            flow=self.flow,
            node=node,
            action=action,
            run_dir=self.run_dir,
            inputs=inputs,
            upstream=upstream,
            emit=lambda kind, **data: self._handler_event(nid, kind, data),
            connect=self.connect,
            timeout_s=timeout_s,
            services=self.services,
        )
        self.contexts[nid] = context
        tries = node.retry.max_tries
        for attempt in range(1, tries + 1):
            result.attempts = attempt
            try:
                value = await self._call(handler, context, timeout_s, timeout_ms)
                if isinstance(value, Routed):
                    self._check_port(nid, value.port)
                self._succeed(nid, value)
                return
            except WaitingForApproval as waiting:
                self._wait(nid, waiting)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any handler failure is the node's failure, never the run's crash
                retryable = getattr(exc, "retryable", True) and not isinstance(exc, ExpressionError)
                if attempt < tries and retryable:
                    self._emit("node_retrying", nid, attempt=attempt, max_tries=tries,
                               wait_ms=node.retry.wait_ms, error=error_object(node, exc))
                    await asyncio.sleep(node.retry.wait_ms / 1000)
                    continue
                self._fail(nid, exc)
                return

    @staticmethod
    async def _invoke(handler: Callable, context: NodeContext) -> Any:
        value = handler(context)
        return await value if inspect.isawaitable(value) else value

    async def _call(self, handler: Callable, context: NodeContext, timeout_s: float | None, timeout_ms: Any) -> Any:
        if timeout_s is None:
            return await self._invoke(handler, context)
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                return await self._invoke(handler, context)
        except TimeoutError:
            if deadline.expired():
                raise NodeError(
                    f"{context.node.name}: timed out after {timeout_ms:g} ms (raise 'Timeout (ms)' if the call needs longer)",
                    details={"timeout_ms": timeout_ms},
                ) from None
            raise

    # --- state changes --------------------------------------------------------------------------

    def _finish(self, nid: str, status: str) -> NodeResult:
        result = self.results[nid]
        result.status = status
        result.finished_at = time.time()
        self.candidates.update(wire.target.node for wire in self.outgoing[nid])
        if nid == self.chosen_trigger:
            self.candidates.update(self.pending)  # nodes without inputs waited for the trigger
        if result.started_at is not None:
            result.duration_ms = round((result.finished_at - result.started_at) * 1000, 3)
        return result

    def _activate(self, nid: str, value: Any, *, only_port: str | None = None) -> None:
        """Make `nid`'s output ports active (all normal ones, or just `only_port`)."""
        action = self.actions[nid]
        several = action is not None and (len(action.outputs) > 1 or bool(action.dynamic_outputs_from))
        ports: dict[str, Any] = {}
        for wire in self.outgoing[nid]:
            port = wire.source.port
            if only_port is not None:
                if port == only_port:
                    ports[port] = value
            elif port != "error":
                ports[port] = value[port] if several and isinstance(value, dict) and port in value else value
        self.ports[nid] = ports

    def _check_port(self, nid: str, port: str) -> None:
        """A routed result must name one of the node's output ports (a handler bug otherwise)."""
        action = self.actions[nid]
        if action is None or action.dynamic_outputs_from:
            return  # dynamic ports come from the node's own input; any key may be wired
        allowed = [o.key for o in action.outputs] + ["error"]
        if port not in allowed:
            raise NodeError(
                f"{self.nodes[nid].name}: chose output {port!r}, which this node does not have "
                f"(outputs: {', '.join(allowed)})",
                retryable=False,
            )

    def _succeed(self, nid: str, value: Any) -> None:
        if self.results[nid].final:
            return  # the run already gave up on this node (it ignored cancellation)
        if isinstance(value, Routed):
            output = jsonable(value.value)
            self._activate(nid, output, only_port=value.port)
        else:
            output = jsonable(value)
            self._activate(nid, output)
        result = self._finish(nid, "succeeded")
        result.output = output
        self.has_output.add(nid)
        if nid == self.chosen_trigger:
            self.trigger_value = output
        data: dict[str, Any] = {"duration_ms": result.duration_ms, "attempts": result.attempts,
                                "usage": dict(result.usage), "output_preview": _preview(output)}
        if isinstance(value, Routed):
            data["port"] = value.port
        self._emit("node_succeeded", nid, **data)

    def _fail(self, nid: str, exc: BaseException) -> None:
        if self.results[nid].final:
            return
        node = self.nodes[nid]
        error = error_object(node, exc)
        result = self._finish(nid, "failed")
        result.error = error
        if node.on_error == "continue":
            result.output = {"error": error}
            self.has_output.add(nid)
            self._activate(nid, result.output)
        elif node.on_error == "route":
            result.output = error
            self.has_output.add(nid)
            self._activate(nid, error, only_port="error")
        else:
            self.ports[nid] = {}
            if self.stop_error is None:
                self.stop_error = error
            self.stop.set()
        self._emit("node_failed", nid, error=error, duration_ms=result.duration_ms,
                   attempts=result.attempts, on_error=node.on_error, usage=dict(result.usage))

    def _wait(self, nid: str, waiting: WaitingForApproval) -> None:
        if self.results[nid].final:
            return
        result = self._finish(nid, "waiting")
        result.waiting = {"requests": jsonable(waiting.requests), "state": jsonable(waiting.state)}
        self.ports[nid] = {}
        self._emit("node_waiting", nid, requests=result.waiting["requests"], duration_ms=result.duration_ms)

    def _skip(self, nid: str, reason: str, *, output: Any = None, has_output: bool = False) -> None:
        result = self._finish(nid, "skipped")
        result.reason = reason
        result.output = output
        if has_output:
            self.has_output.add(nid)
        self.ports.setdefault(nid, {})
        self._emit("node_skipped", nid, reason=reason)

    def _pass_through(self, nid: str) -> None:
        upstream, _ = self._upstream(nid)
        self._activate(nid, upstream)
        self._skip(nid, "disabled", output=upstream, has_output=True)

    def _cancelled(self, nid: str, *, started: bool, reason: str | None = None) -> None:
        result = self.results[nid]
        if result.final:
            return
        if not started:
            self._skip(nid, reason or ("run_cancelled" if self.cancel_requested else "run_stopped"))
            return
        result = self._finish(nid, "cancelled")
        result.reason = reason or ("run_cancelled" if self.cancel_requested else "run_stopped")
        self.ports[nid] = {}
        self._emit("node_cancelled", nid, reason=result.reason, duration_ms=result.duration_ms)

    # --- events ---------------------------------------------------------------------------------

    def _emit(self, event_type: str, nid: str | None, /, **data: Any) -> None:
        node = self.nodes.get(nid) if nid else None
        self.bus.emit(RunEvent(type=event_type, run_id=self.run_id, node_id=nid,
                               node_name=node.name if node else None, data=data))

    def _handler_event(self, nid: str, kind: str, data: dict[str, Any]) -> None:
        """`ctx.emit(kind, **data)`; never raises into the handler."""
        try:
            if self.results[nid].final:
                return  # a late emit from a handler that already ended
            if kind == "usage":
                add_usage(self.results[nid].usage, data.get("usage"))
            data = jsonable(data)
            if kind not in HANDLER_EVENT_TYPES:
                data = {"kind": kind, **data}
                kind = "progress"
            self._emit(kind, nid, **data)
        except Exception:
            log.exception("event %r from node %s could not be reported", kind, self.nodes[nid].name)


class _NodesView(Mapping):
    """`nodes` in expressions: each node by name, built only when an expression reads it."""

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._ids = run.ids_by_name  # shared, not rebuilt per node (that made runs quadratic)

    def __getitem__(self, name: str) -> NodeEntry:
        nid = self._ids[name]
        result = self._run.results[nid]
        entry: dict[str, Any] = {"status": result.status, "error": result.error}
        if nid in self._run.has_output:
            entry["output"] = result.output
        return NodeEntry(name, entry)

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


# --- public API --------------------------------------------------------------------------------


class RunHandle:
    """A run started with `start_run`: cancel it, or wait for its result."""

    def __init__(self, run: _Run, task: asyncio.Task) -> None:
        self._run = run
        self._task = task
        self._loop = task.get_loop()

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def events(self) -> list[RunEvent]:
        return self._run.events

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """Listen to this run's events from now on; returns the unsubscribe function."""
        return self._run.bus.subscribe(callback)

    def cancel(self) -> None:
        """Stop the run: in-flight nodes are cancelled, the result's status is `cancelled`.
        Safe to call from another thread and after the run has ended (then it does nothing)."""
        if self._task.done():
            return
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._run.request_cancel()
        else:
            self._loop.call_soon_threadsafe(self._run.request_cancel)

    def done(self) -> bool:
        return self._task.done()

    async def result(self) -> RunResult:
        """The run's result (waiting here can be cancelled without cancelling the run)."""
        return await asyncio.shield(self._task)


def _make_run(flow: "Flow", **options: Any) -> _Run:
    return _Run(flow, **options)


def start_run(
    flow: "Flow",
    *,
    catalog: "Catalog | None" = None,
    registry: "HandlerRegistry | None" = None,
    trigger_payload: Any = None,
    connect: Callable[[str | None], Awaitable[Any]] | None = None,
    run_dir: str | Path | None = None,
    max_concurrency: int = 8,
    on_event: EventCallback | None = None,
    services: dict[str, Any] | None = None,
    start_at: str | None = None,
    only: str | None = None,
    pinned_outputs: dict[str, Any] | None = None,
    run_id: str | None = None,
    trigger_node: str | None = None,
    keep_events: bool = True,
    trusted: bool = False,
) -> RunHandle:
    """Start running `flow` as a task on the running loop and return its handle at once.
    Arguments as for `run_flow`; raises ValueError at once for a bad start_at/only/trigger_node."""
    run = _make_run(
        flow, catalog=catalog, registry=registry, trigger_payload=trigger_payload, connect=connect,
        run_dir=run_dir, max_concurrency=max_concurrency, on_event=on_event, services=services,
        start_at=start_at, only=only, pinned_outputs=pinned_outputs, run_id=run_id,
        trigger_node=trigger_node, keep_events=keep_events, trusted=trusted,
    )
    task = asyncio.get_running_loop().create_task(run.execute(), name=f"run {run.run_id}")
    return RunHandle(run, task)


async def run_flow(
    flow: "Flow",
    *,
    catalog: "Catalog | None" = None,
    registry: "HandlerRegistry | None" = None,
    trigger_payload: Any = None,
    connect: Callable[[str | None], Awaitable[Any]] | None = None,
    run_dir: str | Path | None = None,
    max_concurrency: int = 8,
    on_event: EventCallback | None = None,
    services: dict[str, Any] | None = None,
    start_at: str | None = None,
    only: str | None = None,
    pinned_outputs: dict[str, Any] | None = None,
    run_id: str | None = None,
    trigger_node: str | None = None,
    keep_events: bool = True,
    trusted: bool = False,
) -> RunResult:
    """Run `flow` to the end and return what every node did.

    `catalog`/`registry` default to the installed ones; `trigger_payload` is what the trigger
    outputs; `connect(name)` opens an OpenAI connection by name for handlers; `run_dir` holds
    artifacts (default: a folder under the system temp dir); `on_event` gets every `RunEvent`;
    `services` is passed to handlers as `ctx.services`; `start_at`/`only` (node id or name) make
    a partial run taking upstream values from `pinned_outputs` {node id: output};
    `trigger_node` picks which trigger fires; `trusted` says the user allowed what the flow would do
    on this machine (studio/flow/capabilities.py), without it handlers refuse. Cancelling the awaiting task cancels the run's
    nodes cleanly and re-raises."""
    run = _make_run(
        flow, catalog=catalog, registry=registry, trigger_payload=trigger_payload, connect=connect,
        run_dir=run_dir, max_concurrency=max_concurrency, on_event=on_event, services=services,
        start_at=start_at, only=only, pinned_outputs=pinned_outputs, run_id=run_id,
        trigger_node=trigger_node, keep_events=keep_events, trusted=trusted,
    )
    return await run.execute()
