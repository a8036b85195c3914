"""What a run leaves behind: its entry in the run history (start, nodes, end), its run folder
(artifacts and `run.json`, the record `studio resume` and the editor read to continue a waiting
run) and the result document (`studio run --json`). Recording never stops a run: a broken
history or a read-only home is reported through `warn` and the run goes on."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Callable

from studio.credentials.trust import TrustStore
from studio.engine.executor import RunResult
from studio.engine.steps import steps_of
from studio.flow.io import FlowLoadError, dump_flow, load_flow
from studio.flow.models import Flow
from studio.history import NodeRecord, RunStore, open_store
from studio.paths import data_dir

log = logging.getLogger(__name__)

Warn = Callable[[str], None]


def _log_warning(text: str) -> None:
    log.warning("%s", text)


# --- the run folder ------------------------------------------------------------------------------


def runs_root() -> Path:
    """The folder that holds one sub-folder per run (artifacts, the saved result)."""
    root = data_dir() / "runs"
    # Private (0700) before any run writes artifacts in it: payloads and outputs are the user's.
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix" and root.stat().st_mode & 0o077:
            os.chmod(root, 0o700)
    except OSError:
        pass  # a read-only home: reading still works, writing says why
    return root


def run_dir_for(run_id: str) -> Path:
    return runs_root() / run_id


def result_document(result: Any, *, run_dir: Path | None = None) -> dict[str, Any]:
    """The `--json` document: the run's status and usage, and per node (by name) its status,
    duration, output and error (and an agent's `steps`, when this process ran it); waiting runs
    list their pending approval requests."""
    nodes: dict[str, Any] = {}
    for node in result.nodes.values():
        entry: dict[str, Any] = {
            "status": node.status,
            "duration_ms": node.duration_ms,
            "output": node.output,
            "error": node.error,
        }
        if node.reason:
            entry["reason"] = node.reason
        if node.attempts > 1:
            entry["attempts"] = node.attempts
        if node.usage:
            entry["usage"] = dict(node.usage)
        steps = steps_of(result.run_id, node.node_name)
        if steps:
            entry["steps"] = steps
        nodes[node.node_name] = entry
    document: dict[str, Any] = {
        "run_id": result.run_id,
        "flow": result.flow_name,
        "status": result.status,
        "duration_ms": result.duration_ms,
        "usage": dict(result.usage),
        "error": result.error,
        "nodes": nodes,
    }
    if result.pending:
        document["pending"] = [
            {"node_id": p.get("node_id"), "node_name": p.get("node_name"), "requests": p.get("requests", [])}
            for p in result.pending
        ]
    if run_dir is not None:
        document["run_dir"] = str(run_dir)
    return document


def save_run_record(run_dir: Path, flow_path: Path, result: Any, document: dict[str, Any]) -> Path:
    """Keep what `studio resume` needs next to the run's artifacts: the flow file it ran, the
    result document, and for waiting nodes the state their handlers asked to keep."""
    record = {
        "flow_path": str(Path(flow_path).resolve()),
        "result": document,
        "waiting": [
            {"node_id": p.get("node_id"), "node_name": p.get("node_name"),
             "requests": p.get("requests", []), "state": p.get("state")}
            for p in result.pending
        ],
    }
    # The record holds the trigger payload and node outputs: private to the user (0700 / 0600).
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        os.chmod(run_dir, 0o700)
        if run_dir.parent == runs_root():
            os.chmod(run_dir.parent, 0o700)
    path = run_dir / "run.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # an older record may have been written with a wider mode
        fh.write(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    return path


def load_run_record(run_id: str) -> dict[str, Any] | None:
    """The saved record of run `run_id`, or None when there is no such run folder."""
    if not run_id or any(c in run_id for c in "/\\") or run_id in {".", ".."}:
        return None
    path = runs_root() / run_id / "run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def keep_run_record(flow: Flow, flow_path: Path | None, result: Any, run_dir: Path) -> None:
    """Write the record `studio resume RUN_ID` reads for a run of a flow being edited (a waiting
    run, so it can be continued later, or a resumed one, so its record no longer waits). It names
    the flow file when that file holds what ran, else a copy of the flow as run (kept in the run
    folder and remembered as the user's own)."""
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
            TrustStore().remember_own(text.encode("utf-8"))
        save_run_record(run_dir, source, result, result_document(result, run_dir=run_dir))
    except Exception:  # noqa: BLE001 - the run itself is fine; only a later resume is lost
        log.exception("could not keep the record of a waiting run")


def leaf_outputs(flow: Flow, result: Any) -> list[tuple[str, Any]]:
    """Outputs of the nodes nothing else consumes: what a run "produced"."""
    sources = {w.source.node for w in flow.wires}
    leaves = []
    for node in flow.nodes:
        entry = result.nodes.get(node.id)
        if entry is not None and node.id not in sources and entry.status == "succeeded":
            leaves.append((node.name, entry.output))
    return leaves


# --- the run history -----------------------------------------------------------------------------


def node_records(result: RunResult) -> list[NodeRecord]:
    """The history rows of a run's nodes, with the steps the run service logged for them."""
    return [
        NodeRecord(node_id=r.node_id, node_name=r.node_name, status=r.status, inputs=r.inputs, output=r.output,
                   error=r.error, started_at=r.started_at, finished_at=r.finished_at, duration_ms=r.duration_ms,
                   attempts=r.attempts, usage=dict(r.usage), steps=steps_of(result.run_id, r.node_name))
        for r in result.nodes.values()
    ]


def record_result(history: RunStore, result: RunResult) -> None:
    history.record_finished(result.run_id, result.status, usage=dict(result.usage), error=result.error,
                            nodes=node_records(result), finished_at=result.finished_at)


def open_history(warn: Warn = _log_warning, *, recover: bool = True) -> RunStore | None:
    """The run history every run is recorded in; a broken database warns and the run goes on.
    With `recover`, runs a killed process left 'running' are closed as cancelled first (live
    processes' stay)."""
    try:
        history = open_store()  # the user's SQLite history, or $FLOW_STUDIO_HISTORY
    except Exception as exc:  # noqa: BLE001 - recording must never stop a run
        warn(f"run history unavailable ({exc}); this run is not recorded")
        return None
    if recover:
        recover_interrupted(history, warn)
    return history


def recover_interrupted(history: RunStore, warn: Warn = _log_warning) -> int:
    """Interrupted-run recovery: runs whose process died while they were 'running' end as
    cancelled. Returns how many; a busy database warns and returns 0."""
    try:
        return history.mark_interrupted()
    except Exception as exc:  # noqa: BLE001 - a busy database must not stop a run either
        warn(f"could not close runs of stopped processes ({exc})")
        return 0


def add_usage(*usages: Any) -> dict[str, Any]:
    """The sum of token-usage dicts (numbers only)."""
    total: dict[str, Any] = {}
    for usage in usages:
        for key, value in (usage or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
    return total


def record_resumed(history: RunStore, flow: Flow, flow_path: Path | None, node_id: str | None, result: Any,
                   trigger: str) -> None:
    """A resumed run's outcome under the same run id: its status, error and usage (the first
    part's plus this one's) and the nodes that ran now (the resumed node's usage and steps
    continue those of the first part); pinned nodes keep the records of the run that produced
    their outputs."""
    try:
        before = history.get_run(result.run_id)
    except KeyError:  # the history was cleared since: record the run from here
        before = None
        history.record_started(result.run_id, flow_id=flow.id, flow_name=flow.name,
                               flow_path=str(Path(flow_path).resolve()) if flow_path else None,
                               trigger=trigger, payload=None)
    old = {n.node_id: n for n in (before.nodes if before else [])}
    nodes = []
    for rec in node_records(result):
        if result.nodes[rec.node_id].reason == "pinned" and rec.node_id in old:
            continue
        if rec.node_id == node_id and rec.node_id in old:
            rec.usage = add_usage(old[rec.node_id].usage, rec.usage)
            rec.steps = (old[rec.node_id].steps or []) + (rec.steps or []) or None
        nodes.append(rec)
    history.record_finished(result.run_id, result.status, usage=add_usage(before.usage if before else {}, result.usage),
                            error=result.error, nodes=nodes, finished_at=result.finished_at)
