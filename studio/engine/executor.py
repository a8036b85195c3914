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
  the whole result. `Routed(port, value)` activates only `port`; `Routes({port: value})` only
  the ports it lists, each with its own value (none listed: nothing downstream runs). What arrives on the main `in`
  port: one active wire -> its value, several -> a list in wire order, none -> None.
  Wires into an input port (`port=True`) set that input (`multiple` -> list of every active wire).
* **Loops.** A node with a `loop` port runs the nodes downstream of it once per batch through
  `ctx.run_body` (engine/loops.py); those nodes then end with their outputs per batch.
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

The run's planning, node execution, state changes and loop bodies live in `planning`,
`node_execution`, `node_states` and `loops` (mixins of `_Run`); results in `results`.
Scheduling: a node's task, when it ends, starts the nodes its end made ready; ready nodes are
`queued` and get a task as one of the `max_concurrency` slots frees, first in, first out.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from . import young_collections
from .context import NodeContext, NodeError
from .events import NODE_FINAL_STATES, EventBus, EventCallback, RunEvent
from .inputs import ExpressionOutput
from .loops import LoopBodies
from .node_execution import NodeExecution
from .node_states import NodeStates
from .plan import FlowPlan
from .planning import RunPlanning
from .results import (  # noqa: F401 - the executor's public names, imported from here by callers
    RUN_STATUSES, NodeResult, RunResult, add_usage, error_object, jsonable,
)
from .results import NodeResults

if TYPE_CHECKING:  # pragma: no cover
    from studio.catalog.catalog import Catalog
    from studio.flow.models import Flow

    from .handlers import HandlerRegistry

log = logging.getLogger(__name__)

# How long cancelled handlers get to finish their clean-up before they are given up on.
CANCEL_GRACE_S = 2.0
# Nodes that never wait (handlers.runs_inline) one scheduling turn runs at once, before the rest
# get tasks: a long chain of them still lets the loop turn (an editor's window stays live).
INLINE_PER_TURN = 64


def _temp_runs_dir() -> Path:
    """Where runs without a folder of their own keep artifacts: one Path, not one per run."""
    return _runs_under(tempfile.gettempdir())


@functools.lru_cache(maxsize=4)
def _runs_under(temp: str) -> Path:
    return Path(temp, "flow-studio-runs")


async def _no_connect(name: str | None) -> Any:
    raise NodeError(
        "this run has no way to open OpenAI connections" + (f" (asked for {name!r})" if name else ""),
        retryable=False,
    )


# --- the run -----------------------------------------------------------------------------------


class _Run(RunPlanning, NodeExecution, NodeStates, LoopBodies):
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
        plan: FlowPlan | None = None,
        on_event_types: frozenset[str] | None = None,
        output_previews: bool = True,
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
        if run_dir is None:
            run_dir = _temp_runs_dir() / self.run_id
        # (Path() of a Path parses all its parts again: most callers pass a Path already.)
        self.run_dir = run_dir if isinstance(run_dir, Path) else Path(run_dir)
        self.max_concurrency = max_concurrency
        self.events: list[RunEvent] = []
        self.bus = EventBus(self.events.append if keep_events else None)
        if on_event is not None:  # `on_event_types`: the only events it wants (a run builds no others for it)
            self.bus.subscribe(on_event, on_event_types)
        # A node's output as a short text in its node_succeeded event, for a display that shows it
        # (the editor's run panel); the terminal's progress lines never do, and skip its JSON.
        self.output_previews = output_previews
        self.services = {"catalog": catalog, "registry": registry, **(services or {}), "trigger_payload": trigger_payload}
        # What every run of this flow works out the same way (engine/plan.py): given by a caller
        # that runs the same flow often, else built for this run.
        if plan is None:
            plan = FlowPlan.build(flow, catalog, flow_dir=self.services.get("flow_dir"))
        elif plan.flow is not flow:
            raise ValueError("the plan given is of another flow")
        self.plan = plan
        # What this run may do on this machine (start, read, contact): handlers ask it, never the file.
        # (A caller that runs the same flow often passes a plan that holds the flow's analysis.)
        if "grant" not in self.services:
            self.services["grant"] = plan.grant(flow_dir=self.services.get("flow_dir"), run_dir=self.run_dir,
                                                trusted=trusted)
        self.pinned = dict(pinned_outputs or {})

        self.nodes = plan.nodes
        self.incoming, self.outgoing = plan.incoming, plan.outgoing  # node id -> its links
        self.actions = plan.actions
        self.order = plan.order  # node id -> its place in the flow, where its results and ports are
        # Every node's result, as columns by place (a node's status "pending": in the run, not yet
        # started or skipped); `status` is read on every scheduling decision.
        self.results = NodeResults(flow.nodes, plan.order)
        self.status = self.results.status
        # Nodes with an output although they did not succeed (pinned, disabled, failed with
        # on_error continue or route, loop bodies); a succeeded node always has one, so the set
        # stays small in a big run.
        self.has_output: set[str] = set()
        self.action_plans: dict[str, Any] = plan.handler_plans(self.registry)  # action id -> what running its nodes needs (node_execution)
        # By place: a finished node's {active output port: value}, OUTPUT_ON_EVERY_PORT, or () for
        # none; None until it ends.
        self.ports: list[Any] = [None] * len(flow.nodes)
        # Pins may name nodes by id or name; pins of nodes no longer in the flow are ignored.
        if self.pinned:
            names = plan.ids_by_name
            self.pinned = {names.get(key, key): value for key, value in self.pinned.items()
                           if key in self.nodes or key in names}
        self.target = self._node_id(start_at or only) if (start_at or only) else None
        self.only = bool(only)
        self.trigger_node = self._node_id(trigger_node) if trigger_node else None
        self.chosen_trigger: str | None = None

        # Nodes whose readiness may have changed since they were last looked at.
        self.candidates: set[str] = set()
        self.after_trigger: set[str] = set()  # candidates that found the trigger not yet ended
        self.queued: deque[str] = deque()  # ready nodes waiting for one of the max_concurrency slots
        self.tasks: dict[str, asyncio.Task] = {}  # nodes in flight
        self.waiter: asyncio.Future | None = None  # what `execute` awaits; set when it should look again
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task_context: contextvars.Context | None = None
        self.contexts: dict[str, NodeContext] = {}
        self.stop = asyncio.Event()
        self.cancel_requested = False
        self.stop_error: dict[str, Any] | None = None
        self.expression_output = ExpressionOutput()  # characters the run's expressions produced
        self.started_at = time.time()

    @property
    def ids_by_name(self) -> Any:
        """Node name -> id (every expression scope reading `nodes` uses it): the plan's."""
        return self.plan.ids_by_name

    def pending_ids(self) -> list[str]:
        """Nodes of the run not yet started or skipped, in flow order."""
        status = self.status
        return [nid for nid, at in self.order.items() if status[at] == "pending"]

    # --- scheduling -----------------------------------------------------------------------------

    def _launch_ready(self) -> None:
        """Queue or skip every candidate whose inputs are settled (skipping may settle more), then
        start queued nodes while slots are free: a node whose handler never waits runs at once,
        in this turn (up to INLINE_PER_TURN of them), and what its end made ready is looked at
        in the same way; any other node gets a task."""
        inline_left = INLINE_PER_TURN
        while True:
            self._settle_candidates()
            ran_inline, inline_left = self._start_queued(inline_left)
            if not ran_inline or not self.candidates or self.stop.is_set():
                return

    def _settle_candidates(self) -> None:
        """Queue or skip every candidate whose inputs are settled (skipping may settle more)."""
        candidates, status, order, stop, queued = self.candidates, self.status, self.order, self.stop, self.queued
        while candidates and not stop.is_set():
            if len(candidates) == 1:
                batch: Any = (candidates.pop(),)
            else:
                batch = sorted(candidates, key=self.order.__getitem__)
                candidates.clear()
            for nid in batch:
                at = order[nid]
                if status[at] != "pending":
                    continue
                verdict, reason = self._decide(nid)
                if verdict == "wait":
                    if reason == "trigger":
                        self.after_trigger.add(nid)
                    continue
                if verdict == "skip":
                    self._skip(nid, reason or "upstream_skipped")
                elif self.nodes[nid].disabled:
                    self._pass_through(nid)
                else:
                    status[at] = "queued"
                    if self.bus.wants("node_queued"):
                        self._emit("node_queued", nid)
                    queued.append(nid)

    def _start_queued(self, inline_left: int) -> tuple[bool, int]:
        """Start queued nodes, first in first out: one that runs inline at once (while
        `inline_left` lasts), any other as a task while a slot is free. A node gets its task only
        then: a fan-out of 10,000 holds `max_concurrency` tasks, not 10,000 waiting on a semaphore.
        Returns (whether a node ran inline, what is left of `inline_left`)."""
        queued, tasks, stop = self.queued, self.tasks, self.stop
        create_task, context = self.loop.create_task, self.task_context
        ran_inline = False
        while queued and not stop.is_set():
            nid = queued[0]
            if inline_left and self._runs_inline(nid):
                queued.popleft()
                inline_left -= 1
                context.copy().run(self._run_inline, nid)  # its context variables stay its own
                ran_inline = True
                continue
            if len(tasks) >= self.max_concurrency:
                break
            queued.popleft()
            tasks[nid] = create_task(self._node_task(nid), name=f"node {self.nodes[nid].name}", context=context.copy())
        return ran_inline, inline_left

    def _node_ended(self, nid: str) -> None:
        """A node's task is ending: start what its end made ready, and wake `execute` when the
        run has nothing left in flight or is stopping."""
        self.tasks.pop(nid, None)
        waiter = self.waiter
        try:
            if not self.stop.is_set():
                self._launch_ready()
        except Exception as exc:  # a bug in the scheduler: `execute` raises it, as if it were its own
            if waiter is None or waiter.done():
                raise
            waiter.set_exception(exc)
            return
        if (self.stop.is_set() or not self.tasks) and waiter is not None and not waiter.done():
            waiter.set_result(None)

    def stop_run(self) -> None:
        """Stop the run (a `stop` failure, a cancel): nothing more starts, `execute` halts the rest."""
        self.stop.set()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def execute(self) -> RunResult:
        self._emit("run_started", None, flow_id=self.flow.id, flow_name=self.flow.name,
                   nodes=len(self.flow.nodes), trigger_payload=self.payload)
        self.loop = asyncio.get_running_loop()
        self.bus.deliver_later(self.loop)  # listeners are served after what the nodes cannot wait for (events.py)
        # Node tasks start in a copy of the run's own context, never in the context of the node
        # whose end started them (a handler's context variables stay its own).
        self.task_context = contextvars.copy_context()
        young_collections.hold()  # fewer young collections while nodes are in flight
        try:
            self._plan()
            self._launch_ready()
            # Each node's task starts its successors itself when it ends (`_node_ended`); the run
            # only waits until nothing is in flight or the run stops.
            while self.tasks and not self.stop.is_set():
                self.waiter = self.loop.create_future()
                await self.waiter
                self.waiter = None
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
            self.waiter = None
            young_collections.release()
            self.bus.deliver_now()  # every event held back, before the run's result (and its run_finished)
        return self._finish_run()

    async def _halt(self) -> None:
        """Cancel every in-flight node and skip every node that has not started."""
        self.stop.set()  # finishing nodes start nothing more
        reason = "run_cancelled" if self.cancel_requested else "run_stopped"
        for nid in self.queued:  # queued, never given a task: they did not start
            self._cancelled(nid, started=False, reason=reason)
        self.queued.clear()
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
        for nid in self.pending_ids():
            self._skip(nid, reason)

    def _finish_run(self) -> RunResult:
        states, results = self.status, self.results
        for nid, at in self.order.items():  # nothing may stay unfinished
            if states[at] not in NODE_FINAL_STATES:
                self._skip(nid, "run_cancelled" if self.cancel_requested else "unreachable")
        usage: dict[str, int] = {}
        for used in results.sparse["usage"].values():  # only the nodes that reported usage have any
            add_usage(usage, used)
        pending = [
            {"node_id": r.node_id, "node_name": r.node_name, **(r.waiting or {})}
            for r in (results.at(at) for at, state in enumerate(states) if state == "waiting")
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
            nodes=self.results,  # the run is over: its results are the result's, not copied
            usage=usage,
            error=self.stop_error,
            pending=pending,
            trigger=self.trigger_value,
            trigger_node=self.chosen_trigger,
            events=list(self.events),
        )

    def request_cancel(self) -> None:
        self.cancel_requested = True
        self.stop_run()



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
    plan: FlowPlan | None = None,
    on_event_types: frozenset[str] | None = None,
    output_previews: bool = True,
) -> RunHandle:
    """Start running `flow` as a task on the running loop and return its handle at once.
    Arguments as for `run_flow`; `on_event_types`, when given, are the only event types `on_event`
    is called for; `output_previews=False` leaves `output_preview` out of node_succeeded events
    (for a listener that never shows it). Raises ValueError at once for a bad start_at/only/trigger_node."""
    run = _make_run(
        flow, catalog=catalog, registry=registry, trigger_payload=trigger_payload, connect=connect,
        run_dir=run_dir, max_concurrency=max_concurrency, on_event=on_event, services=services,
        start_at=start_at, only=only, pinned_outputs=pinned_outputs, run_id=run_id,
        trigger_node=trigger_node, keep_events=keep_events, trusted=trusted, plan=plan,
        on_event_types=on_event_types, output_previews=output_previews,
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
    plan: FlowPlan | None = None,
) -> RunResult:
    """Run `flow` to the end and return what every node did.

    `catalog`/`registry` default to the installed ones; `trigger_payload` is what the trigger
    outputs; `connect(name)` opens an OpenAI connection by name for handlers; `run_dir` holds
    artifacts (default: a folder under the system temp dir); `on_event` gets every `RunEvent`;
    `services` is passed to handlers as `ctx.services`; `start_at`/`only` (node id or name) make
    a partial run taking upstream values from `pinned_outputs` {node id: output};
    `trigger_node` picks which trigger fires; `trusted` says the user allowed what the flow would do
    on this machine (studio/flow/capabilities.py), without it handlers refuse; `plan` is the flow's
    `FlowPlan` when the caller runs the same flow often (engine/plan.py), else each run builds its own.
    Cancelling the awaiting task cancels the run's nodes cleanly and re-raises."""
    run = _make_run(
        flow, catalog=catalog, registry=registry, trigger_payload=trigger_payload, connect=connect,
        run_dir=run_dir, max_concurrency=max_concurrency, on_event=on_event, services=services,
        start_at=start_at, only=only, pinned_outputs=pinned_outputs, run_id=run_id,
        trigger_node=trigger_node, keep_events=keep_events, trusted=trusted, plan=plan,
    )
    return await run.execute()
