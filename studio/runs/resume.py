"""Continuing a run that waits for approval, possibly in a new process (`studio resume RUN_ID
--approve ID --reject ID`) or from the editor's approval cards.

The run's record (run.json in its folder) holds the flow file's path, every node's output and,
per waiting node, the approval requests and the state the node asked to keep. Resuming runs the
flow again from the waiting node on (`start_at`), with every earlier output pinned, and hands the
decisions to that node (`Resume`); the result replaces the record, so a run that pauses again can
be resumed again under the same id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from studio.flow.io import FlowLoadError
from studio.flow.models import Flow

from .connections import Connector, UsageError
from .prepare import load_flow_file, prepare_flow
from .records import Warn, _log_warning, load_run_record, runs_root
from .service import ActiveRun, Connect, Resume, start_run


class ResumeError(UsageError):
    """The decisions do not fit the waiting run; the message says what is pending."""


def pending_ids(record: dict[str, Any]) -> dict[str, str]:
    """Request id -> waiting node id."""
    ids: dict[str, str] = {}
    for waiting in record.get("waiting") or []:
        for request in waiting.get("requests") or []:
            if isinstance(request, dict) and request.get("id"):
                ids[str(request["id"])] = waiting.get("node_id")
    return ids


def plan(record: dict[str, Any], approve: list[str], reject: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the waiting entry to continue, its decisions) for the given ids."""
    ids = pending_ids(record)
    both = set(approve) & set(reject)
    if both:
        raise ResumeError(f"both approved and rejected: {', '.join(sorted(both))}")
    given = list(approve) + list(reject)
    if not given:
        raise ResumeError("give --approve ID or --reject ID for the pending requests: " + ", ".join(ids))
    unknown = [i for i in given if i not in ids]
    if unknown:
        raise ResumeError(f"no pending request {', '.join(unknown)} (pending: {', '.join(ids) or 'none'})")
    nodes = {ids[i] for i in given}
    if len(nodes) > 1:
        raise ResumeError("these requests belong to different nodes; resume one node at a time")
    node_id = nodes.pop()
    entry = next(w for w in record["waiting"] if w.get("node_id") == node_id)
    decisions = {i: {"approved": True} for i in approve}
    decisions.update({i: {"approved": False} for i in reject})
    return entry, decisions


def pinned_outputs(record: dict[str, Any], except_node: str | None) -> dict[str, Any]:
    """Outputs of the nodes that already produced one, by node name."""
    nodes = (record.get("result") or {}).get("nodes") or {}
    pins: dict[str, Any] = {}
    for name, entry in nodes.items():
        if not isinstance(entry, dict) or name == except_node:
            continue
        if entry.get("status") == "succeeded" or (entry.get("status") == "skipped" and entry.get("reason") == "pinned"):
            pins[name] = entry.get("output")
    return pins


def resumption(record: dict[str, Any], entry: dict[str, Any], decisions: dict[str, Any], run_id: str) -> Resume:
    """What start_run needs to continue `entry` of the recorded run; other waiting nodes stay waiting."""
    others = [dict(w) for w in record.get("waiting") or [] if w.get("node_id") != entry.get("node_id")]
    return Resume(run_id=run_id, node_id=entry["node_id"], state=entry.get("state"), decisions=decisions,
                  others=others)


async def resume_flow(flow: Flow, record: dict[str, Any], entry: dict[str, Any], decisions: dict[str, Any], *,
                      connect: Connect, run_dir: Path | None, run_id: str, on_event: Any = None,
                      flow_path: Path | None = None, trusted: bool = False) -> tuple[Any, Any]:
    """Run `flow` again from the waiting node with the decisions, unrecorded; (handle, result).
    `trusted`: the caller checked the flow's capabilities with the user."""
    active = start_run(flow, connect=connect, trigger="cli", flow_path=flow_path, run_dir=run_dir,
                       run_record="never", on_event=on_event, resume=resumption(record, entry, decisions, run_id),
                       pinned=pinned_outputs(record, entry.get("node_name")), trusted=trusted)
    return active.handle, await active.result()


@dataclass
class PreparedResume:
    """A recorded waiting run ready to continue: its flow (trusted, connections resolved), the
    waiting entry and the decisions."""

    run_id: str
    record: dict[str, Any]
    flow: Flow
    flow_path: Path
    entry: dict[str, Any]
    decisions: dict[str, Any]
    connector: Connector

    @property
    def approved(self) -> int:
        return sum(bool(d["approved"]) for d in self.decisions.values())


def prepare_resume(run_id: str, approve: list[str], reject: list[str], *, trust: bool = False,
                   base_url: str | None = None) -> PreparedResume:
    """Load the run's record and its flow, check the decisions, trust and connections. Raises
    UsageError (ResumeError for decisions that do not fit) with a message for the user."""
    record = load_run_record(run_id)
    if record is None:
        raise UsageError(f"no run {run_id!r} in {runs_root()}")
    if not record.get("waiting"):
        status = (record.get("result") or {}).get("status")
        raise UsageError(f"run {run_id} is not waiting for approval (it {status})")
    entry, decisions = plan(record, list(approve or []), list(reject or []))
    flow_path = Path(record["flow_path"])
    try:
        flow, data = load_flow_file(flow_path)
    except FlowLoadError as exc:
        raise UsageError(str(exc)) from None
    try:
        flow.node(entry["node_id"])
    except KeyError:
        raise UsageError(f"{flow_path} no longer has the waiting node {entry.get('node_name')!r}") from None
    prepared = prepare_flow(flow, data, flow_path, trust=trust, base_url=base_url)
    return PreparedResume(run_id=run_id, record=record, flow=flow, flow_path=flow_path, entry=entry,
                          decisions=decisions, connector=prepared.connector)


def start_resume(prepared: PreparedResume, *, history: Any = None, on_event: Callable[[Any], None] | None = None,
                 trigger: str = "cli", warn: Warn = _log_warning, output_previews: bool = True) -> ActiveRun:
    """Continue the prepared run on the running loop; its result replaces the run record and
    joins the run's history entry (unless the resume failed before anything ran).
    `output_previews`: as for `start_run` (the terminal's progress lines show none)."""
    p = prepared
    return start_run(p.flow, connect=p.connector.connect, trigger=trigger, flow_path=p.flow_path,
                     history=history, run_record="always", on_event=on_event,
                     resume=resumption(p.record, p.entry, p.decisions, p.run_id),
                     pinned=pinned_outputs(p.record, p.entry.get("node_name")), trusted=True, warn=warn,
                     output_previews=output_previews)
