"""Starting a run and seeing it through: every way of running a flow (`studio run`, `studio
resume`, `studio serve`, the editor and its chat panel) calls `start_run` here, which starts the
engine's executor, records the start in the run history, and whose `ActiveRun.result()` records
the end (history, run record for `studio resume`) whatever happened. The caller opens the
connections (`Connector`), observes events (`on_event`) and may cancel (`ActiveRun.cancel`)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal

from studio.engine.executor import NodeResult, RunHandle, RunResult, start_run as start_executor
from studio.engine.plan import FlowPlan
from studio.engine.steps import forget as forget_steps
from studio.engine.steps import STEP_EVENT_TYPES, log_for
from studio.flow.models import Flow
from studio.history import RunStore
from studio.history.run_ids import new_run_id

from .prepare import prepare_file
from .records import (
    Warn, _log_warning, keep_run_record, record_resumed, record_result, result_document, run_dir_for,
    save_run_record,
)

log = logging.getLogger(__name__)

Connect = Callable[[str | None], Awaitable[Any]]
RunRecordPolicy = Literal["always", "waiting", "never"]
"""When the run folder gets a `run.json`: after every run (`studio run`: the file is what ran),
only when the run waits for approval (the editor: so it can be resumed later), or never."""


@dataclass
class Resume:
    """Continue a waiting run at `node_id` with the user's `decisions` ({request id: {"approved":
    bool}}) and the `state` the node asked to keep; the run keeps its id."""

    run_id: str
    node_id: str
    state: Any
    decisions: dict[str, Any]
    others: list[dict[str, Any]] = field(default_factory=list)  # other waiting nodes: they stay waiting

    def untouched(self, result: RunResult) -> bool:
        """The resumed node failed before anything happened (no model answered, no tool ran):
        the run still waits as it was and may be resumed again."""
        from studio.connectors.openai.agents.run import UNTOUCHED  # agents load on demand: slow import

        node = result.nodes.get(self.node_id)
        error = (node.error if node is not None else None) or {}
        return (result.status == "failed" and node is not None and node.status == "failed"
                and bool((error.get("details") or {}).get(UNTOUCHED)))

    def keep_others_waiting(self, result: RunResult) -> None:
        """Waiting nodes not resumed this time stay waiting in the result (and so in the record)."""
        for waiting in self.others:
            result.pending.append(dict(waiting))
            node = result.nodes.get(waiting.get("node_id"))
            if node is not None:
                node.status, node.reason = "waiting", None
                node.waiting = {"requests": waiting.get("requests"), "state": waiting.get("state")}
        if self.others and result.status == "succeeded":
            result.status = "waiting"


@dataclass
class ActiveRun:
    """A started run. `result()` waits for its end and records it; `cancel()` stops it."""

    flow: Flow
    handle: RunHandle
    run_dir: Path | None
    flow_path: Path | None
    trigger: str
    history: RunStore | None = None
    resume: Resume | None = None
    run_record: RunRecordPolicy = "waiting"
    warn: Warn = _log_warning
    untouched: bool = False  # a resume that failed before anything ran: nothing was recorded
    interrupted: bool = False  # the task awaiting result() was cancelled, so the run was cancelled
    _result: RunResult | None = field(default=None, repr=False)
    _document: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return self.handle.run_id

    def cancel(self) -> None:
        self.handle.cancel()

    @property
    def document(self) -> dict[str, Any] | None:
        """The result document (`studio run --json`), once `result()` returned."""
        if self._document is None and self._result is not None:
            self._document = result_document(self._result, run_dir=self.run_dir)
        return self._document

    async def result(self) -> RunResult:
        """The run's result, recorded once (await it from one task; later calls return it at once).
        A run whose executor itself broke is a `failed` result."""
        if self._result is not None:
            return self._result
        try:
            try:
                result = await self.handle.result()
            except asyncio.CancelledError:  # the task awaiting the run was cancelled: stop the run
                self.interrupted = True
                self.handle.cancel()
                result = await self.handle.result()
        except Exception as exc:  # noqa: BLE001 - the executor itself broke: a failed run, not a traceback
            log.error("run %s crashed", self.run_id, exc_info=exc)
            result = crashed_result(self.flow, self.handle, exc)
        self._result = result
        if self.resume is not None and self.resume.untouched(result):
            self.untouched = True  # the run still waits: its history entry and record stay as they were
            return result
        if self.resume is not None:
            self.resume.keep_others_waiting(result)
        self._record(result)
        return result

    def _record(self, result: RunResult) -> None:
        if self.history is not None:
            try:
                if self.resume is not None:
                    record_resumed(self.history, self.flow, self.flow_path, self.resume.node_id, result, self.trigger)
                else:
                    record_result(self.history, result)
            except Exception as exc:  # noqa: BLE001 - the run is over; say why it is not recorded
                self.warn(f"could not record the run in the history: {type(exc).__name__}: {str(exc)[:200]}")
        if self.run_dir is None:
            return
        if self.run_record == "always" and self.flow_path is not None:
            try:
                save_run_record(self.run_dir, self.flow_path, result, self.document)
            except OSError as exc:
                self.warn(f"could not save the run record in {self.run_dir}: {exc}")
        elif self.run_record != "never" and (result.status == "waiting" or self.resume is not None):
            # a resumed run replaces the record its pause left, so it no longer claims to wait
            keep_run_record(self.flow, self.flow_path, result, self.run_dir)


@functools.lru_cache(maxsize=64)
def _resolved_place(flow_path: str) -> tuple[Path, dict[str, str]]:
    """(the path, its `flow_path`/`flow_dir` services) of a flow file already resolved: a served
    flow's runs all have the same (the dict is copied into each run's services, never changed)."""
    path = Path(flow_path)
    return path, {"flow_path": flow_path, "flow_dir": str(path.parent)}


def start_run(flow: Flow, *, connect: Connect, trigger: str, payload: Any = None,
              flow_path: str | Path | None = None, flow_dir: str | Path | None = None,
              history: RunStore | None = None, run_id: str | None = None,
              run_dir: Path | None | Literal["default"] = "default", run_record: RunRecordPolicy = "waiting",
              catalog: Any = None, registry: Any = None, on_event: Callable[[Any], None] | None = None,
              start_at: str | None = None, only: str | None = None, pinned: dict[str, Any] | None = None,
              trigger_node: str | None = None, resume: Resume | None = None, max_concurrency: int = 8,
              keep_events: bool = False, trusted: bool = False, warn: Warn = _log_warning,
              services: dict[str, Any] | None = None, plan: FlowPlan | None = None,
              flow_path_resolved: bool = False, output_previews: bool = True) -> ActiveRun:
    """Start `flow` on the running event loop and return at once.

    `trigger` labels the run in the history ("cli", "editor", "chat", "webhook", "schedule");
    `flow_path` (or, for an unsaved flow, `flow_dir`) is where handlers read relative files;
    `history` records the run (None: not recorded); `run_dir` holds its artifacts and run record
    ("default": the user's runs folder, None: no folder); `pinned` outputs (by node id or name)
    are reused instead of running those nodes; `resume` continues a waiting run. `trusted`: the
    caller checked the flow's capabilities with the user (studio/runs/prepare.py, the editor's
    trust dialog). `services` are handed to handlers as they are (a webhook's reply channel).
    A caller that runs the same flow often (`studio serve`) passes its `plan` (engine/plan.py) and
    `flow_path` resolved once (`flow_path_resolved`), so no run redoes either. A listener that
    never shows node outputs (the terminal's progress lines) passes `output_previews=False`.
    Raises ValueError at once for a bad `start_at`, `only` or `trigger_node`."""
    if flow_path is not None and flow_path_resolved:
        path, where = _resolved_place(str(flow_path))
    else:
        path = None if flow_path is None else Path(flow_path).resolve()
        where = {}
        if path is not None:
            where = {"flow_path": str(path), "flow_dir": str(path.parent)}
        elif flow_dir is not None:  # an unsaved flow opened from somewhere (an example)
            where = {"flow_dir": str(Path(flow_dir).resolve())}
    services = {**where, **(services or {})}
    if resume is not None:
        from studio.connectors.openai.agents.run import RESUME_SERVICE  # agents load on demand: slow import

        services[RESUME_SERVICE] = {resume.node_id: {"state": resume.state, "decisions": resume.decisions}}
        start_at, run_id = resume.node_id, resume.run_id
    run_id = run_id or new_run_id()
    folder = run_dir_for(run_id) if run_dir == "default" else run_dir
    if resume is not None:  # this part's steps only: the history holds the earlier parts'
        forget_steps(run_id)
    steps = log_for(run_id)  # agent steps and retries, per node: the history, run.json, --json

    def observe(event: Any) -> None:
        steps.add(event)
        on_event(event)

    # With no caller listening, only the events steps come from are built (no node start/end
    # events, no output previews): most runs of `studio serve` have no agent steps at all.
    listener, listened = (observe, None) if on_event is not None else (steps.add, STEP_EVENT_TYPES)
    handle = start_executor(
        flow, catalog=catalog, registry=registry, trigger_payload=payload, connect=connect, run_dir=folder,
        max_concurrency=max_concurrency, on_event=listener, services=services, start_at=start_at, only=only,
        pinned_outputs=pinned or None, run_id=run_id, trigger_node=trigger_node, keep_events=keep_events,
        trusted=trusted, plan=plan, on_event_types=listened, output_previews=output_previews,
    )
    if history is not None and resume is None:
        try:
            history.record_started(run_id, flow_id=flow.id, flow_name=flow.name,
                                   flow_path=str(path) if path is not None else None, trigger=trigger, payload=payload)
        except Exception as exc:  # noqa: BLE001 - history is a record; the run goes on without it
            warn(f"could not record the run in the history: {type(exc).__name__}: {str(exc)[:200]}")
            history = None
    return ActiveRun(flow=flow, handle=handle, run_dir=folder, flow_path=path, trigger=trigger, history=history,
                     resume=resume, run_record=run_record, warn=warn)


def crashed_result(flow: Flow, handle: RunHandle, exc: BaseException) -> RunResult:
    """A `failed` result for a run whose executor itself raised (MemoryError, a bug): nodes
    that were running end `cancelled`, those not started `skipped`, and the error says why."""
    run = getattr(handle, "_run", None)
    nodes = dict(getattr(run, "results", None) or {})
    if not nodes:
        nodes = {n.id: NodeResult(node_id=n.id, node_name=n.name, action=n.action) for n in flow.nodes}
    now = time.time()
    for node in nodes.values():
        if not node.final:
            node.status = "cancelled" if node.started_at is not None else "skipped"
            node.reason = "run_crashed"
            node.finished_at = now
    text = str(exc)
    message = f"the run stopped: {type(exc).__name__}" + (f": {text}" if text else "")
    return RunResult(run_id=handle.run_id, flow_id=flow.id, flow_name=flow.name, status="failed",
                     started_at=getattr(run, "started_at", now), finished_at=now, nodes=nodes,
                     error={"message": message, "details": {}, "type": type(exc).__name__, "node": None})


async def run_file(path: str | Path, *, payload: Any = None, trigger: str = "cli", trust: bool = False,
                   base_url: str | None = None, history: RunStore | None = None,
                   run_record: RunRecordPolicy = "always", on_event: Callable[[Any], None] | None = None,
                   max_concurrency: int = 8, warn: Warn = _log_warning) -> ActiveRun:
    """Prepare a flow file (prepare_file: FlowLoadError, UsageError) and run it to its end on the
    running loop, its connections closed after; the returned ActiveRun holds the result
    (`await active.result()` returns it at once) and the result document."""
    prepared = prepare_file(path, trust=trust, base_url=base_url)
    active = start_run(prepared.flow, connect=prepared.connector.connect, trigger=trigger, payload=payload,
                       flow_path=prepared.path, history=history, run_record=run_record, on_event=on_event,
                       max_concurrency=max_concurrency, trusted=True, warn=warn)
    try:
        await active.result()
    finally:
        await prepared.connector.aclose()
    return active
