"""The one bridge between the engine's plain RunEvents and Qt: runs start on the qasync loop (the
Qt thread), every event becomes a `event` signal, and the finished RunResult a `finished` signal.
The window never polls; the UI stays responsive because handlers await network I/O on the loop."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import QObject, QTimer, Signal

from studio.catalog.catalog import Catalog
from studio.flow.models import Flow

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
        # Set when the engine can resume a waiting run: fn(result, decisions) -> awaitable.
        self.resume_hook: Callable[..., Any] | None = None
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

    @property
    def running(self) -> bool:
        return self._active

    _active = False

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
        self.last_flow, self.last_flow_path = snapshot, flow_path
        self._trigger_kind = trigger
        self.task = loop.create_task(self._run(snapshot, flow_path, start_at, only, trigger_payload, resume))
        return True

    async def _run(self, flow: Flow, flow_path: Path | None, start_at: str | None, only: str | None,
                   trigger_payload: Any, resume: dict[str, Any] | None = None) -> Any:
        from studio.engine.executor import start_run
        from studio.engine.handlers import default_registry
        from studio.engine.headless import Connector

        connector = Connector(base_url=self.base_url)
        self._pool_timer.stop()
        if self._pool is None:
            self._pool = connector.pool
        else:
            connector.pool = self._pool
        fallback = self.default_connection() if self.default_connection else None

        async def connect(name: str | None) -> Any:
            return await connector.connect(name or fallback)
        history = None
        services: dict[str, Any] = {}
        base_dir = self.base_dir() if self.base_dir is not None else None
        if flow_path is not None:
            services = {"flow_path": str(Path(flow_path).resolve()), "flow_dir": str(Path(flow_path).resolve().parent)}
        elif base_dir is not None:
            # an unsaved flow opened from somewhere (an example): its relative files live there
            services = {"flow_dir": str(Path(base_dir).resolve())}
        extra: dict[str, Any] = {}
        if resume is not None:  # continue the waiting node with the decisions; same run id
            from studio.connectors.openai.agents.run import RESUME_SERVICE

            services[RESUME_SERVICE] = {resume["node_id"]: {"state": resume["state"], "decisions": resume["decisions"]}}
            start_at, extra = resume["node_id"], {"run_id": resume["run_id"]}
        from studio.engine.headless import runs_root

        from studio.engine.steps import forget, log_for

        run_id = extra.pop("run_id", None) or uuid.uuid4().hex
        run_dir = runs_root() / run_id  # artifacts, and the record `studio resume` reads
        steps = log_for(run_id)  # agent steps, for the history and the run record

        def on_event(ev: Any) -> None:
            steps.add(ev)
            self.event.emit(ev)
        try:
            try:
                self.handle = start_run(
                    flow, catalog=self.catalog, registry=default_registry(), connect=connect,
                    on_event=on_event, services=services, start_at=start_at, only=only,
                    pinned_outputs=self._pins(flow, start_at or only),
                    trigger_payload=trigger_payload, run_id=run_id, run_dir=run_dir,
                    trusted=True,  # the window asked about the flow's capabilities before (check_trust)
                )
            except Exception as exc:  # noqa: BLE001 - a bad start node, a broken registry ...
                self._active = False
                self.failed_to_start.emit(str(exc))
                return None
            self.started.emit(self.handle.run_id)
            if self.record_history and resume is None:
                history = self._history_start(flow, flow_path, trigger_payload)
            result = await self.handle.result()
            if resume is not None and self._keep_waiting_after(result, resume):
                self._active = False
                self.finished.emit(result)
                return result
            for nid, node in result.nodes.items():
                if node.status == "succeeded" or (node.status == "skipped" and node.reason == "pinned"):
                    if node.status == "succeeded":
                        self.last_outputs[nid] = node.output
            self.last_result = result
            if result.status == "waiting" or resume is not None:  # a resumed run's record is no longer waiting
                self._keep_waiting_record(flow, flow_path, result, run_dir)
            if history is not None:
                self._history_finish(history, result)
            elif resume is not None and self.record_history:
                self._history_resumed(flow, flow_path, resume, result)
            self._active = False
            self.finished.emit(result)
            return result
        finally:
            forget(run_id)
            self._active = False
            self.handle = None
            self._pool_timer.start()  # closed when no run follows for a while

    @staticmethod
    def _keep_waiting_record(flow: Flow, flow_path: Path | None, result: Any, run_dir: Path) -> None:
        """Write the record `studio resume RUN_ID` reads, so a waiting run can be continued after
        the editor is closed. It names the flow file when that file holds what ran, else a copy of
        the flow as run (kept in the run folder and remembered as the user's own)."""
        from studio.engine import headless
        from studio.flow.io import FlowLoadError, dump_flow, load_flow

        try:
            source = Path(flow_path) if flow_path is not None else None
            if source is not None:
                try:
                    if load_flow(source, validate=False) != flow:
                        source = None
                except FlowLoadError:
                    source = None
            if source is None:
                run_dir.mkdir(parents=True, exist_ok=True)
                source = run_dir / "flow.flow.json"
                text = dump_flow(flow)
                source.write_text(text, encoding="utf-8")
                from studio.credentials.trust import TrustStore

                TrustStore().remember_own(text.encode("utf-8"))
            headless.save_run_record(run_dir, source, result, headless.result_document(result, run_dir=run_dir))
        except Exception:  # noqa: BLE001 - the run itself is fine; only a later resume is lost
            log.exception("could not keep the record of a waiting run")

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
        node has an answer, the run continues from that node (or the resume hook is called)."""
        self.decisions[(node_id, request_id)] = approved
        if self.resume_hook is not None:
            self.resume_hook(self.last_result, dict(self.decisions))
        else:
            self.resume_waiting(node_id)
        self.approval_decided.emit(node_id, request_id, approved)

    def _waiting_entry(self, node_id: str) -> dict[str, Any] | None:
        result = self.last_result
        for pending in getattr(result, "pending", None) or []:
            if pending.get("node_id") == node_id:
                return pending
        return None

    def _keep_waiting_after(self, result: Any, resume: dict[str, Any]) -> bool:
        """A resume that failed before anything ran (no model answered, no tool ran) leaves the
        run waiting as it was, as `studio resume` does: its record, history entry and pending
        approvals stay, the answers are forgotten so the cards can be answered again, and the
        result shown says so. True when that happened."""
        from studio.connectors.openai.agents.resume import untouched_failure

        node_id = resume["node_id"]
        error = untouched_failure(result, node_id)
        entry = self._waiting_entry(node_id)
        if error is None or entry is None:
            return False
        for key in [k for k in self.decisions if k[0] == node_id]:
            del self.decisions[key]
        node = result.nodes[node_id]
        node.status, node.reason = "waiting", None
        node.waiting = {"requests": entry.get("requests"), "state": resume["state"]}
        result.status = "waiting"
        result.pending = [dict(entry, state=resume["state"])]
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

    # run history ---------------------------------------------------------------------------------

    def _history_start(self, flow: Flow, flow_path: Path | None, payload: Any = None) -> Any:
        try:
            from studio.history import RunHistory

            history = RunHistory()
            history.record_started(self.handle.run_id, flow_id=flow.id, flow_name=flow.name,
                                   flow_path=str(flow_path) if flow_path else None, trigger=self._trigger_kind, payload=payload)
            return history
        except Exception:  # noqa: BLE001 - history is a convenience; the run goes on
            log.exception("could not record the run in the history")
            return None

    def _history_resumed(self, flow: Flow, flow_path: Path | None, resume: dict[str, Any], result: Any) -> None:
        """A resumed run continues its history entry (usage and steps added), as `studio resume`'s."""
        from studio.connectors.openai.agents.resume import record_resumed
        from studio.history import RunHistory

        try:
            history = RunHistory()
        except Exception:  # noqa: BLE001 - history is a convenience; the run is over
            log.exception("could not open the run history")
            return
        try:
            record_resumed(history, flow, str(flow_path) if flow_path else None, resume, result,
                           trigger=self._trigger_kind)
        except Exception:  # noqa: BLE001
            log.exception("could not record the resumed run in the history")
        finally:
            history.close()

    def _history_finish(self, history: Any, result: Any) -> None:
        try:
            from studio.engine.serve import node_records

            nodes = node_records(result)  # with the agent steps logged for them
            history.record_finished(result.run_id, result.status, usage=result.usage, error=result.error, nodes=nodes)
        except Exception:  # noqa: BLE001
            log.exception("could not record the run's end in the history")
        finally:
            history.close()
