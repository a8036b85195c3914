"""Running one node: wait for a slot, gather what arrives on its ports, resolve its inputs, call
its handler with the node's timeout and retry policy. A mixin of the executor's run."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Mapping
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Callable

from . import expression_limits
from .context import NodeContext, NodeError, Routed, Routes, WaitingForApproval
from .events import NODE_FINAL_STATES
from .expressions import ExpressionError, NodeEntry, Scope, SizeBudget, render_value
from .inputs import InputShape, resolve_inputs
from .planning import OUTPUT_ON_EVERY_PORT, port_active
from .redaction import recorded_inputs
from .results import NOTHING, error_object

if TYPE_CHECKING:  # pragma: no cover
    from studio.catalog.models import Action

    from .executor import _Run
    from .handlers import HandlerRegistry

log = logging.getLogger("studio.engine.executor")


class NodeExecution:
    """One node's task; `self` is the executor's run."""

    async def _node_task(self, nid: str) -> None:
        """The node's whole life once it has a slot; when it ends it starts what became ready."""
        at = self.order[nid]
        started = False
        try:
            if self.stop.is_set():  # the run stopped between this task's creation and its start
                self._cancelled(nid, started=False)
                return
            started = True
            self._mark_started(at, nid)
            await self._execute(nid)
        except asyncio.CancelledError:
            self._cancelled(nid, started=started)
            raise
        except Exception as exc:  # a bug in the engine itself: the node fails, the run goes on
            self._engine_bug(at, nid, exc)
        finally:
            # The context's callbacks refer to the run: kept past the node's end, every node
            # would tie the run into a cycle only the cycle collector frees.
            self.contexts.pop(nid, None)
            self._node_ended(nid)

    def _engine_bug(self, at: int, nid: str, exc: Exception) -> None:
        if self.status[at] not in NODE_FINAL_STATES:
            log.error("node %s crashed the executor", self.nodes[nid].name, exc_info=exc)
            self._fail(nid, exc)

    def _mark_started(self, at: int, nid: str) -> None:
        self.status[at] = "running"
        self.results.started[at] = time.time()
        if self.bus.wants("node_started"):
            self._emit("node_started", nid)

    def _succeed_checked(self, nid: str, value: Any) -> None:
        """The handler's value as the node's output, once a routed value's ports are checked."""
        if isinstance(value, Routed):
            self._check_port(nid, value.port)
        elif isinstance(value, Routes):
            for port in value.values:
                self._check_port(nid, port)
        self._succeed(nid, value)

    def _runs_inline(self, nid: str) -> bool:
        """Whether the node may run within the scheduler's turn: its handler never waits
        (handlers.runs_inline) and it has no retries (a retry waits between tries)."""
        return self._action_plan(nid).inline and self.nodes[nid].retry.max_tries <= 1

    def _run_inline(self, nid: str) -> None:
        """The node's whole life at once, in the scheduler's turn (the caller runs it in a copy
        of the run's context, as a task would be): no task, no loop turn of its own. What its
        end makes ready is left to the caller's scheduling loop, never started from here."""
        at = self.order[nid]
        self._mark_started(at, nid)
        try:
            prepared = self._prepare(nid)
            if prepared is None:
                return
            handler, context, _, _ = prepared
            self.results.attempts[at] = 1
            try:
                value = handler(context)
                if type(value) is CoroutineType:
                    try:
                        value.send(None)
                    except StopIteration as finished:
                        value = finished.value
                    else:
                        value.close()
                        raise NodeError(f"{self.nodes[nid].name}: its handler is marked to run inline but "
                                        "waited on something (a bug in the handler)", retryable=False)
                elif inspect.isawaitable(value):
                    raise NodeError(f"{self.nodes[nid].name}: its handler is marked to run inline but "
                                    "returned something to wait on (a bug in the handler)", retryable=False)
                self._succeed_checked(nid, value)
            except WaitingForApproval as waiting:
                self._wait(nid, waiting)
            except Exception as exc:  # the handler's failure is the node's
                self._fail(nid, exc)
        except Exception as exc:  # a bug in the engine itself: the node fails, the run goes on
            self._engine_bug(at, nid, exc)
        finally:
            self.contexts.pop(nid, None)

    def _upstream(self, nid: str) -> tuple[Any, dict[str, list[Any]]]:
        """(value on the `in` port, values of the active wires into other input ports)."""
        main: list[Any] = []
        wired: dict[str, list[Any]] = {}
        ports_of, order, outputs = self.ports, self.order, self.results.output
        for source, port, _, target_port in self.incoming[nid]:
            at = order[source]
            ports = ports_of[at]
            values = main if target_port == "in" else wired.setdefault(target_port, [])
            if port_active(ports, port):
                values.append(outputs[at] if ports is OUTPUT_ON_EVERY_PORT else ports[port])
        if wired:
            wired = {key: values for key, values in wired.items() if values}
        upstream = main[0] if len(main) == 1 else (main if main else None)
        return upstream, wired

    def expression_scope(self, upstream: Any) -> Scope:
        return _NodeScope(self, upstream)

    def _render_item(self, value: Any, item: Any) -> Any:
        """A `per_item` input's value with its expressions filled in for one item (`input`)."""
        budget = SizeBudget(run_left=expression_limits.MAX_RUN_EXPRESSION_OUTPUT - self.expression_output.used)
        try:
            return render_value(value, self.expression_scope(item), budget)
        finally:
            self.expression_output.used += budget.used

    def _action_plan(self, nid: str) -> "_ActionPlan":
        """What running a node of this action needs besides its values, worked out once per plan."""
        action_id = self.nodes[nid].action
        plan = self.action_plans.get(action_id)
        if plan is None:
            plan = self.action_plans[action_id] = _ActionPlan(action_id, self.actions[nid], self.registry,
                                                              self.plan.input_shapes.get(action_id))
        return plan

    def _prepare(self, nid: str) -> "tuple[Callable, NodeContext, float | None, Any] | None":
        """The node's handler and context, its inputs resolved; None when that failed the node."""
        node = self.nodes[nid]
        plan = self._action_plan(nid)
        action = self.actions[nid]
        try:
            if action is None:
                raise NodeError(f"{node.name}: unknown action {node.action!r} (not in the catalog)", retryable=False)
            if plan.handler is None:
                raise NodeError(f"{node.name}: no handler is installed for action {node.action!r}", retryable=False)
            upstream, wired = self._upstream(nid)
            if plan.inputs.empty and not wired and not node.values:
                inputs: dict[str, Any] = NOTHING  # nothing to resolve (nor to redact); shared, read-only
            else:
                inputs = resolve_inputs(node.name, action, node.values, self.expression_scope(upstream), wired,
                                        self.expression_output, plan.inputs)
        except Exception as exc:  # bad inputs, a size limit, even MemoryError: the node fails, not the run
            self._fail(nid, exc)
            return None
        self.results.inputs[self.order[nid]] = recorded_inputs(inputs)  # credential headers never reach the records
        timeout_ms = inputs.get("timeout_ms") if plan.has_timeout else None
        timeout_s = timeout_ms / 1000 if isinstance(timeout_ms, (int, float)) and timeout_ms > 0 else None
        hooks = _NodeHooks(self, nid)
        # In NodeContext's field order (positional: a node's context is made for every node).
        context = NodeContext(self.run_id, self.flow, node, action, self.run_dir, inputs, upstream, hooks.emit,
                              self.connect, timeout_s, self.services, self._render_item, hooks.run_body)
        self.contexts[nid] = context
        return plan.handler, context, timeout_s, timeout_ms

    async def _execute(self, nid: str) -> None:
        prepared = self._prepare(nid)
        if prepared is None:
            return
        handler, context, timeout_s, timeout_ms = prepared
        node = self.nodes[nid]
        attempts, at = self.results.attempts, self.order[nid]
        tries = node.retry.max_tries
        for attempt in range(1, tries + 1):
            attempts[at] = attempt
            try:
                if timeout_s is None:  # the handler is awaited here: no coroutine in between
                    value = handler(context)
                    if type(value) is CoroutineType or inspect.isawaitable(value):  # most handlers are `async def`
                        value = await value
                else:
                    value = await self._call(handler, context, timeout_s, timeout_ms)
                self._succeed_checked(nid, value)
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

    async def _call(self, handler: Callable, context: NodeContext, timeout_s: float, timeout_ms: Any) -> Any:
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                # The handler is awaited here, not through a coroutine of its own: every step of
                # its call (each read of the answer) resumes one frame fewer.
                value = handler(context)
                return await value if inspect.isawaitable(value) else value
        except TimeoutError:
            if deadline.expired():
                raise NodeError(
                    f"{context.node.name}: timed out after {timeout_ms:g} ms (raise 'Timeout (ms)' if the call needs longer)",
                    details={"timeout_ms": timeout_ms},
                ) from None
            raise


class _NodeHooks:
    """A node's `ctx.emit` and `ctx.run_body`: the run's, for this node (fewer objects per node
    than two closures)."""

    __slots__ = ("run", "nid")

    def __init__(self, run: "_Run", nid: str) -> None:
        self.run = run
        self.nid = nid

    def emit(self, kind: str, **data: Any) -> None:
        self.run._handler_event(self.nid, kind, data)

    def run_body(self, batches: list[Any], concurrency: int) -> Any:
        return self.run._run_body(self.nid, batches, concurrency)


class _ActionPlan:
    """Per action, once for a flow's plan and handler registry (the runs of a served flow share
    it): its handler (None: not installed), whether it takes a timeout, the shape of its inputs."""

    __slots__ = ("handler", "has_timeout", "inputs", "inline")

    def __init__(self, action_id: str, action: "Action | None", registry: "HandlerRegistry",
                 inputs: InputShape | None = None) -> None:
        self.handler = registry.get(action_id) if action_id in registry else None
        self.inputs = inputs if inputs is not None else InputShape(action)  # the run plan's, when it has one
        self.has_timeout = "timeout_ms" in self.inputs.specs
        self.inline = getattr(self.handler, "runs_inline", False) is True  # handlers.runs_inline


class _NodeScope(Scope):
    """What one node's expressions see; `nodes` and `run` are made only when an expression reads
    them (most values read neither, many have no expression at all)."""

    def __init__(self, run: "_Run", upstream: Any) -> None:
        self._run = run
        self.trigger = run.trigger_value
        self.input = upstream

    @property
    def nodes(self) -> Mapping[str, Any]:  # type: ignore[override]
        return _NodesView(self._run)

    @property
    def run(self) -> dict[str, Any]:  # type: ignore[override]
        run = self._run
        return {"id": run.run_id, "flow_id": run.flow.id, "flow_name": run.flow.name, "started_at": run.started_at}


class _NodesView(Mapping):
    """`nodes` in expressions: each node by name, built only when an expression reads it."""

    def __init__(self, run: "_Run") -> None:
        self._run = run
        self._ids = run.ids_by_name  # shared, not rebuilt per node (that made runs quadratic)

    def __getitem__(self, name: str) -> NodeEntry:
        nid = self._ids[name]
        result = self._run.results[nid]
        entry: dict[str, Any] = {"status": result.status, "error": result.error}
        if result.status == "succeeded" or nid in self._run.has_output:
            entry["output"] = result.output
        return NodeEntry(name, entry)

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

