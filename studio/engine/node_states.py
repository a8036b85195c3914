"""How a node's state changes (succeeded, failed, waiting, skipped, cancelled), which of its
output ports become active, and the events each change emits. A mixin of the executor's run."""

from __future__ import annotations

import logging
import time
from typing import Any

from .context import NodeError, Routed, Routes, WaitingForApproval
from .events import HANDLER_EVENT_TYPES, NODE_FINAL_STATES, RunEvent
from .planning import OUTPUT_ON_EVERY_PORT
from .results import add_usage, error_object, jsonable, preview

log = logging.getLogger("studio.engine.executor")


class NodeStates:
    """State changes of a run's nodes; `self` is the executor's run."""

    def _finish(self, nid: str, status: str) -> int:
        """Mark the node ended with `status` (its duration follows from its start and end); returns
        its place in the run's columns."""
        at = self.order[nid]
        results = self.results
        results.status[at] = status
        results.finished[at] = time.time()
        for _, _, target, _ in self.outgoing[nid]:
            self.candidates.add(target)
        if nid == self.chosen_trigger:  # the nodes that waited for the trigger may go now
            self.candidates.update(self.after_trigger)
            self.after_trigger.clear()
        return at

    def _activate(self, nid: str, value: Any, *, only_port: str | None = None) -> None:
        """Make `nid`'s output ports active (all normal ones, or just `only_port`). `value` is the
        node's output (`results[nid].output`, set by the caller): when every normal port carries it
        as it is, the ports are the shared OUTPUT_ON_EVERY_PORT marker instead of a dict."""
        at = self.order[nid]
        if only_port is not None:
            self.ports[at] = {port: value for _, port, _, _ in self.outgoing[nid] if port == only_port}
            return
        if isinstance(value, dict):
            action = self.actions[nid]
            several = action is not None and (len(action.outputs) > 1 or bool(action.dynamic_outputs_from))
            if several and any(port in value for _, port, _, _ in self.outgoing[nid] if port != "error"):
                # An action with several outputs returned {port: value}: each port its own value.
                self.ports[at] = {port: value[port] if port in value else value
                                  for _, port, _, _ in self.outgoing[nid] if port != "error"}
                return
        self.ports[at] = OUTPUT_ON_EVERY_PORT

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
        if self.status[self.order[nid]] in NODE_FINAL_STATES:
            return  # the run already gave up on this node (it ignored cancellation)
        if isinstance(value, Routed):
            output = jsonable(value.value)
            self._activate(nid, output, only_port=value.port)
        elif isinstance(value, Routes):
            output = jsonable(value.values)
            self.ports[self.order[nid]] = {port: output[port] for _, port, _, _ in self.outgoing[nid] if port in output}
        else:
            output = jsonable(value)
            self._activate(nid, output)
        at = self._finish(nid, "succeeded")
        self.results.output[at] = output
        if nid == self.chosen_trigger:
            self.trigger_value = output
        if not self.bus.wants("node_succeeded"):
            return  # nobody sees this event: no output preview either
        result = self.results.at(at)
        data: dict[str, Any] = {"duration_ms": result.duration_ms, "attempts": result.attempts,
                                "usage": dict(result.usage)}
        if self.output_previews:
            data["output_preview"] = preview(output)
        if isinstance(value, Routed):
            data["port"] = value.port
        elif isinstance(value, Routes):
            data["ports"] = list(value.values)
        self._emit("node_succeeded", nid, **data)

    def _fail(self, nid: str, exc: BaseException) -> None:
        if self.results[nid].final:
            return
        node = self.nodes[nid]
        error = error_object(node, exc)
        result = self.results.at(self._finish(nid, "failed"))
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
            self.ports[self.order[nid]] = ()
            if self.stop_error is None:
                self.stop_error = error
            self.stop_run()
        self._emit("node_failed", nid, error=error, duration_ms=result.duration_ms,
                   attempts=result.attempts, on_error=node.on_error, usage=dict(result.usage))

    def _wait(self, nid: str, waiting: WaitingForApproval) -> None:
        if self.results[nid].final:
            return
        result = self.results.at(self._finish(nid, "waiting"))
        result.waiting = {"requests": jsonable(waiting.requests), "state": jsonable(waiting.state)}
        self.ports[self.order[nid]] = ()
        self._emit("node_waiting", nid, requests=result.waiting["requests"], duration_ms=result.duration_ms)

    def _skip(self, nid: str, reason: str, *, output: Any = None, has_output: bool = False) -> None:
        at = self._finish(nid, "skipped")
        results = self.results
        results.sparse["reason"][at] = reason
        results.output[at] = output
        if has_output:
            self.has_output.add(nid)
        if self.ports[at] is None:  # (a disabled or pinned node's ports are set already)
            self.ports[at] = ()
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
        result = self.results.at(self._finish(nid, "cancelled"))
        result.reason = reason or ("run_cancelled" if self.cancel_requested else "run_stopped")
        self.ports[self.order[nid]] = ()
        self._emit("node_cancelled", nid, reason=result.reason, duration_ms=result.duration_ms)

    # --- events ---------------------------------------------------------------------------------

    def _emit(self, event_type: str, nid: str | None, /, **data: Any) -> None:
        if not self.bus.wants(event_type):
            return  # nobody keeps or watches events (keep_events=False, no on_event): build none
        node = self.nodes.get(nid) if nid else None
        self.bus.emit(RunEvent(type=event_type, run_id=self.run_id, node_id=nid,
                               node_name=node.name if node else None, data=data))

    def _handler_event(self, nid: str, kind: str, data: dict[str, Any]) -> None:
        """`ctx.emit(kind, **data)`; never raises into the handler."""
        try:
            if self.status[self.order[nid]] in NODE_FINAL_STATES:
                return  # a late emit from a handler that already ended
            if kind == "usage":
                used = self.results.sparse["usage"].setdefault(self.order[nid], {})  # the first usage it reports: a dict of its own
                add_usage(used, data.get("usage"))
            event = kind if kind in HANDLER_EVENT_TYPES else "progress"
            if not self.bus.wants(event):
                return  # nobody keeps or watches it: its data is not copied (usage is counted above)
            data = jsonable(data)
            if event != kind:
                data = {"kind": kind, **data}
            self._emit(event, nid, **data)
        except Exception:
            log.exception("event %r from node %s could not be reported", kind, self.nodes[nid].name)

