"""Loop bodies: the nodes wired (directly or further down) to a node's `loop` port run once per
batch of items, each batch in a run of its own over the same flow, several at a time; the outer
run then records, for each body node, its outputs in batch order.

The body is every node downstream of the `loop` port that is not also downstream of another
output of the loop node (`done`), so what follows the loop waits for it. A body run sees the outer
run's outputs and trigger (`nodes.X.output`, `trigger`), and the loop node's output is the batch.
What a batch gives back is the output of the last body node that ran (feeding no other body node
that ran: a branch not taken does not count), or {name: output} when there are several. A mixin of the executor's run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .events import HANDLER_EVENT_TYPES, NODE_FINAL_STATES
from .results import preview

LOOP_PORT = "loop"


class LoopBodies:
    """Running a loop node's body per batch; `self` is the executor's run."""

    loop_of: tuple[Any, str, Any] | None = None  # (outer run, loop node id, batch) in a body run
    body_nodes: set[str] = frozenset()  # type: ignore[assignment]

    def _loop_body(self, nid: str) -> set[str]:
        starts = {target for _, port, target, _ in self.outgoing[nid] if port == LOOP_PORT}
        others = {target for _, port, target, _ in self.outgoing[nid] if port != LOOP_PORT}
        body: set[str] = set()
        for start in starts:
            body |= self._descendants(start)
        after: set[str] = set()
        for start in others:
            after |= self._descendants(start)
        return body - after - {nid}

    def _body_sinks(self, body: set[str]) -> list[str]:
        return [n.id for n in self.flow.nodes if n.id in body
                and not any(target in body for _, _, target, _ in self.outgoing[n.id])]

    async def _run_body(self, nid: str, batches: list[Any], concurrency: int) -> list[dict[str, Any]]:
        body = self._loop_body(nid)
        if not body:  # nothing wired to the loop port: each batch is its own result
            return [{"status": "succeeded", "output": batch, "error": None} for batch in batches]
        sinks = self._body_sinks(body)
        status, order = self.status, self.order
        for node in self.flow.nodes:  # the body is running (shown live; it ends in _finish_body)
            if node.id in body and status[order[node.id]] == "pending" and batches:
                self.results[node.id].status = "running"
                self.results[node.id].started_at = time.time()
                self._emit("node_started", node.id, loop=self.nodes[nid].name)
        gate = asyncio.Semaphore(max(1, int(concurrency)))
        runs: list[Any] = [None] * len(batches)
        done = 0

        def forward(event: Any) -> None:
            """What a body node says while it runs (progress such as a retry, deltas, tool calls)
            reaches the outer run; its per-item start and end do not (_finish_body reports those)."""
            if event.type in HANDLER_EVENT_TYPES and event.node_id in body:
                self.bus.emit(event)

        async def one(index: int, batch: Any) -> dict[str, Any]:
            nonlocal done
            async with gate:
                sub = type(self)(
                    self.flow, catalog=self.catalog, registry=self.registry, trigger_payload=self.payload,
                    connect=self.connect, run_dir=self.run_dir, max_concurrency=self.max_concurrency,
                    on_event=forward, services={k: v for k, v in self.services.items() if k != "trigger_payload"},
                    start_at=None, only=None, pinned_outputs=None, run_id=self.run_id, trigger_node=None,
                    keep_events=False, plan=self.plan,
                    on_event_types=HANDLER_EVENT_TYPES,  # the body run builds no node start/end events
                )
                sub.loop_of = (self, nid, batch)
                sub.body_nodes = body
                result = await sub.execute()
            runs[index] = result
            done += 1
            self._handler_event(nid, "progress", {"message": f"{done} of {len(batches)} done",
                                                  "loop": {"done": done, "total": len(batches)}})
            if result.status != "succeeded":
                error = result.error or {"message": f"the loop body ended {result.status}", "details": {},
                                         "type": "LoopBody", "node": self.nodes[nid].name}
                return {"status": "failed", "output": None, "error": error}
            ran = {nid for nid in body if result.nodes[nid].status == "succeeded"}
            ends = sinks if len(ran) == len(body) else (self._body_sinks(ran) or sinks)  # all ran: the body's own
            outputs = {self.nodes[s].name: result.nodes[s].output for s in ends}
            output = next(iter(outputs.values())) if len(outputs) == 1 else outputs
            return {"status": "succeeded", "output": output, "error": None}

        try:
            return list(await asyncio.gather(*(one(i, b) for i, b in enumerate(batches))))
        finally:
            self._finish_body(body, [r for r in runs if r is not None])

    def _plan_body(self) -> None:
        """Set-up of a body run: the outer run's state, the loop node's output being the batch."""
        outer, loop_nid, batch = self.loop_of
        self.trigger_value = outer.trigger_value
        body = self.body_nodes
        # The body's nodes stay pending; every other node is as it is in the outer run (ended, or
        # skipped when it has not), its ports too (a run never changes a ports entry in place).
        others = [at for nid, at in self.order.items() if nid not in body]
        self.results.copy_from(outer.results, others)
        status, ports = self.status, self.ports
        for at in others:
            if status[at] in NODE_FINAL_STATES:
                ports[at] = outer.ports[at]
            else:
                status[at], ports[at] = "skipped", ()
        self.has_output.update(nid for nid in outer.has_output if nid not in body)
        loop = self.results[loop_nid]
        loop.status, loop.output = "succeeded", batch
        ports[self.order[loop_nid]] = {LOOP_PORT: batch}
        self.candidates.update(self.pending_ids())

    def _finish_body(self, body: set[str], runs: list[Any]) -> None:
        """Each body node of the outer run ends with its outputs per batch (none ran: skipped)."""
        status, order = self.status, self.order
        for nid in (n.id for n in self.flow.nodes if n.id in body):
            if status[order[nid]] not in ("pending", "running"):  # (running: since _run_body began)
                continue
            results = [run.nodes[nid] for run in runs]
            outputs = [r.output for r in results]
            failed = next((r for r in results if r.status == "failed"), None)
            ran = any(r.status == "succeeded" for r in results)
            result = self.results.at(self._finish(nid, "failed" if failed else "succeeded" if ran else "skipped"))
            result.output = outputs
            result.attempts = max((r.attempts for r in results), default=0)  # the most tries one item took
            self.has_output.add(nid)
            self.ports[order[nid]] = ()  # what follows the loop reads its Done port, not the body
            if failed is not None:
                result.error = failed.error
                self._emit("node_failed", nid, error=failed.error, duration_ms=result.duration_ms,
                           attempts=result.attempts, on_error="loop", usage={})
            elif ran:
                previews = {"output_preview": preview(outputs)} if self.output_previews else {}
                self._emit("node_succeeded", nid, duration_ms=result.duration_ms, attempts=result.attempts,
                           usage={}, loop_runs=len(results), **previews)
            else:
                stopped = "run_cancelled" if self.cancel_requested else "run_stopped" if self.stop.is_set() else None
                result.reason = stopped or (results[0].reason if results else "loop_empty")
                self._emit("node_skipped", nid, reason=result.reason)
