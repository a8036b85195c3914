"""The one bridge between the engine's plain RunEvents and Qt: runs start on the qasync loop (the
Qt thread), every event becomes a `event` signal, and the finished RunResult a `finished` signal.
The window never polls; the UI stays responsive because handlers await network I/O on the loop."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import QObject, QTimer, Signal

from studio.catalog.catalog import Catalog
from studio.flow.models import Flow

from .collector import RunCollector

log = logging.getLogger(__name__)

POOL_IDLE_MS = 60_000  # the HTTP pool outlives a run by this long, so the next run reuses it


@dataclass
class _RecordedRun:
    """The parts of a RunResult that resuming needs, rebuilt from a saved run record."""

    run_id: str
    pending: list[dict[str, Any]]
    status: str = "waiting"
    nodes: dict[str, Any] = field(default_factory=dict)


class RunController(QObject):
    """Starts and stops runs of the document's flow; remembers each node's last output so
    "Run from here" and "Run only this node" can reuse upstream results."""

    started = Signal(str)  # run id
    event = Signal(object)  # studio.engine.events.RunEvent
    finished = Signal(object)  # studio.engine.executor.RunResult
    failed_to_start = Signal(str)  # a message for the user
    approval_decided = Signal(str, str, bool)  # node id, request id, approved

    def __init__(self, catalog: Catalog, *, base_url: str | None = None, record_history: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.base_url = base_url  # override every connection's base URL (tests, local servers)
        self.record_history = record_history
        self.handle: Any = None
        self.task: asyncio.Task | None = None
        self.last_outputs: dict[str, Any] = {}  # node id -> output of its last successful run
        self.last_result: Any = None
        self.decisions: dict[tuple[str, str], bool] = {}
        # Returns the connection for nodes left at "default" (the toolbar's Run on), or None.
        self.default_connection: Callable[[], str | None] | None = None
        # The run history's pinned outputs for a flow (id -> output): pinned nodes never run.
        self.pinned_outputs: Callable[[Flow], dict[str, Any]] | None = None
        self.last_flow: Flow | None = None
        self._trigger_kind = "editor"  # how the run history labels the current run
        # Where relative file paths of an unsaved flow are looked up (the folder it came from).
        self.base_dir: Callable[[], Path | None] | None = None
        self.last_flow_path: Path | None = None
        # The client pool is kept between runs: building it (TLS contexts, about 30 ms on the Qt
        # thread) and opening new sockets at every run stalled the window as each run started.
        # Credentials are still resolved per run; clients are keyed by name, URL and key.
        self._pool: Any = None
        self._pool_timer = QTimer(self)
        self._pool_timer.setSingleShot(True)
        self._pool_timer.setInterval(POOL_IDLE_MS)
        self._pool_timer.timeout.connect(self.close_pool)
        self.collector = RunCollector()  # full garbage collections wait until a run has ended

    @property
    def running(self) -> bool:
        return self._active

    _active = False
    _recovered = False  # interrupted runs of dead processes were closed in the history

    def start(self, flow: Flow, *, flow_path: Path | None = None, start_at: str | None = None,
              only: str | None = None, trigger_payload: Any = None, resume: dict[str, Any] | None = None,
              trigger: str = "editor") -> bool:
        """Start a run on the running asyncio loop; False (and `failed_to_start`) if it cannot."""
        if self.running:
            self.failed_to_start.emit("A run is already in progress; stop it first.")
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            try:
                loop = asyncio.get_event_loop()
            except RuntimeError:
                self.failed_to_start.emit("No event loop: the editor was started without qasync.")
                return False
        snapshot = flow.model_copy(deep=True)
        self._active = True
        self.collector.run_started()
        self.last_flow, self.last_flow_path = snapshot, flow_path
        self._trigger_kind = trigger
        self.task = loop.create_task(self._run(snapshot, flow_path, start_at, only, trigger_payload, resume))
        return True

    async def _run(self, flow: Flow, flow_path: Path | None, start_at: str | None, only: str | None,
                   trigger_payload: Any, resume: dict[str, Any] | None = None) -> Any:
        from studio.engine.handlers import default_registry
        from studio.runs.connections import Connector
        from studio.runs.service import start_run

        self._pool_timer.stop()
        connector = Connector(self.base_url, pool=self._pool,
                              fallback=self.default_connection() if self.default_connection else None)
        self._pool = connector.pool
        base_dir = self.base_dir() if self.base_dir is not None else None
        history = self._open_history() if self.record_history else None
        resumption = self._resumption(resume) if resume is not None else None
        try:
            try:
                active = start_run(
                    flow, connect=connector.connect, trigger=self._trigger_kind, payload=trigger_payload,
                    flow_path=flow_path, flow_dir=base_dir, history=history, catalog=self.catalog,
                    registry=default_registry(), on_event=self.event.emit, start_at=start_at, only=only,
                    pinned=self._pins(flow, resumption.node_id if resumption else start_at or only),
                    resume=resumption, keep_events=True,
                    trusted=True,  # the window asked about the flow's capabilities before (check_trust)
                )
            except Exception as exc:  # noqa: BLE001 - a bad start node, a broken registry ...
                self._active = False
                self.failed_to_start.emit(str(exc))
                return None
            self.handle = active.handle
            self.started.emit(active.run_id)
            result = await active.result()
            if active.untouched and self._keep_waiting_after(result, resumption):
                self._active = False
                self.finished.emit(result)
                return result
            for nid, node in result.nodes.items():
                if node.status == "succeeded":
                    self.last_outputs[nid] = node.output
            self.last_result = result
            self._active = False
            self.finished.emit(result)
            return result
        finally:
            self._active = False
            self.handle = None
            if history is not None:
                history.close()
            self._pool_timer.start()  # closed when no run follows for a while
            self.collector.run_finished()

    def _resumption(self, resume: dict[str, Any]) -> Any:
        """The run service's Resume for the last run's waiting node; other waiting nodes stay waiting."""
        from studio.runs.service import Resume

        others = [dict(p) for p in getattr(self.last_result, "pending", None) or []
                  if p.get("node_id") != resume["node_id"]]
        return Resume(run_id=resume["run_id"], node_id=resume["node_id"], state=resume["state"],
                      decisions=resume["decisions"], others=others)

    def _open_history(self) -> Any:
        """The run history for one run (closed after it); runs a killed process left 'running'
        are closed as cancelled the first time."""
        from studio.runs.records import open_history

        history = open_history(log.warning, recover=not self._recovered)
        self._recovered = True
        return history

    def close_pool(self) -> None:
        """Close the kept HTTP clients (after POOL_IDLE_MS without a run, or on demand)."""
        pool, self._pool = self._pool, None
        self._pool_timer.stop()
        if pool is None:
            return
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
        if loop.is_closed():
            return

        async def close() -> None:
            try:
                await pool.aclose()
            except Exception:  # noqa: BLE001 - closing pooled clients must not raise into Qt
                log.exception("closing the connection pool failed")

        if loop.is_running():
            loop.create_task(close())
        else:
            loop.run_until_complete(close())

    def adopt_waiting(self, record: dict[str, Any], flow: Flow, flow_path: Path | None) -> list[dict[str, Any]]:
        """Take up a recorded run that waits for approval (e.g. from an earlier session) so the
        approval cards can resume it like a run of this session. Returns its waiting entries."""
        by_name = {n.name: n.id for n in flow.nodes}
        node_ids = set(by_name.values())
        waiting = [w for w in record.get("waiting") or [] if w.get("node_id") in node_ids]
        outputs = {}
        for name, entry in ((record.get("result") or {}).get("nodes") or {}).items():
            if isinstance(entry, dict) and entry.get("status") == "succeeded" and name in by_name:
                outputs[by_name[name]] = entry.get("output")
        self.last_outputs = outputs
        self.last_flow, self.last_flow_path = flow.model_copy(deep=True), flow_path
        self.last_result = _RecordedRun(run_id=str((record.get("result") or {}).get("run_id") or ""),
                                        pending=[dict(w) for w in waiting])
        return waiting

    def _pins(self, flow: Flow, start: str | None) -> dict[str, Any] | None:
        """Pins from the history win over the last outputs a partial run reuses. The last outputs
        of the start node and everything after it are not reused: those nodes run again."""
        try:
            pins = dict(self.pinned_outputs(flow)) if self.pinned_outputs else {}
        except Exception:  # noqa: BLE001 - an unreadable history must not stop the run
            log.exception("could not read the pinned outputs")
            pins = {}
        if not start:
            return pins or None
        ids = {n.name: n.id for n in flow.nodes}
        rerun = {ids.get(start, start)}
        frontier = list(rerun)
        while frontier:
            here = frontier.pop()
            for wire in flow.wires:
                if wire.source.node == here and wire.target.node not in rerun:
                    rerun.add(wire.target.node)
                    frontier.append(wire.target.node)
        names = {n.id: n.name for n in flow.nodes}
        reused = {k: v for k, v in self.last_outputs.items() if k not in rerun and ids.get(k) not in rerun
                  and names.get(k, k) not in {names.get(r) for r in rerun}}
        return {**reused, **pins}

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()

    async def wait(self) -> Any:
        """The current run's result (tests, shutdown)."""
        if self.task is None:
            return None
        return await self.task

    def decide(self, node_id: str, request_id: str, approved: bool) -> None:
        """An approval card's answer: recorded and announced; once every request of the waiting
        node has an answer, the run continues from that node."""
        self.decisions[(node_id, request_id)] = approved
        self.resume_waiting(node_id)
        self.approval_decided.emit(node_id, request_id, approved)

    def _waiting_entry(self, node_id: str) -> dict[str, Any] | None:
        result = self.last_result
        for pending in getattr(result, "pending", None) or []:
            if pending.get("node_id") == node_id:
                return pending
        return None

    def _keep_waiting_after(self, result: Any, resumption: Any) -> bool:
        """A resume that failed before anything ran (no model answered, no tool ran) leaves the
        run waiting as it was, as `studio resume` does (the run service recorded nothing): the
        answers are forgotten so the approval cards can be answered again, and the result shown
        is the waiting run with the error that stopped the resume. True when that happened."""
        node_id = resumption.node_id
        entry = self._waiting_entry(node_id)
        node = result.nodes.get(node_id)
        if entry is None or node is None:
            return False
        for key in [k for k in self.decisions if k[0] == node_id]:
            del self.decisions[key]
        error = node.error or {}
        node.status, node.reason = "waiting", None
        node.waiting = {"requests": entry.get("requests"), "state": resumption.state}
        result.status = "waiting"
        result.pending = [dict(entry, state=resumption.state)] + [dict(o) for o in resumption.others]
        result.error = {**error, "message": f"Resuming failed before anything ran: {error.get('message')}. "
                                            "The run still waits for approval; answer again to retry."}
        self.last_result = result
        return True

    def resume_waiting(self, node_id: str) -> bool:
        """Continue the last run at `node_id` when all its approval requests are decided."""
        entry = self._waiting_entry(node_id)
        if entry is None or self.running or self.last_flow is None:
            return False
        ids = [str(r.get("id")) for r in entry.get("requests") or [] if isinstance(r, dict) and r.get("id")]
        if not ids or any((node_id, i) not in self.decisions for i in ids):
            return False
        decisions = {i: {"approved": self.decisions[(node_id, i)]} for i in ids}
        state = entry.get("state")
        if state is None:
            node = self.last_result.nodes.get(node_id)
            state = (getattr(node, "waiting", None) or {}).get("state")
        return self.start(self.last_flow, flow_path=self.last_flow_path,
                          resume={"node_id": node_id, "state": state, "decisions": decisions,
                                  "run_id": self.last_result.run_id})
