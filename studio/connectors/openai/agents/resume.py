"""Continue a run that waits for approval, possibly in a new process (`studio resume RUN_ID
--approve ID --reject ID`).

The run's record (run.json in its folder) holds the flow file's path, every node's output and,
per waiting node, the approval requests and the agent's serialised RunState. Resuming runs the
flow again from the waiting node on (`start_at`), with every earlier output pinned, and hands the
decisions to that node through `services["agent_resume"]`; the result replaces the record, so a
run that pauses again can be resumed again under the same id."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from .run import RESUME_SERVICE, UNTOUCHED


class ResumeError(Exception):
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


async def resume_flow(flow: Any, record: dict[str, Any], entry: dict[str, Any], decisions: dict[str, Any], *,
                      connect: Any, run_dir: Path, run_id: str, on_event: Any = None,
                      services: dict[str, Any] | None = None, trusted: bool = False) -> Any:
    """Run `flow` again from the waiting node with the decisions; returns its RunHandle's result.
    The editor calls this too (with its own connect and event callback). `trusted`: the caller
    checked the flow's capabilities with the user (studio/flow/capabilities.py)."""
    from studio.engine.executor import start_run

    node_name = entry.get("node_name")
    all_services = dict(services or {})
    all_services[RESUME_SERVICE] = {entry["node_id"]: {"state": entry.get("state"), "decisions": decisions}}
    handle = start_run(flow, connect=connect, run_dir=run_dir, on_event=on_event, services=all_services,
                       start_at=entry["node_id"], pinned_outputs=pinned_outputs(record, node_name),
                       run_id=run_id, keep_events=False, trusted=trusted)
    return handle, await handle.result()


def resume_hook(record: dict[str, Any], args: argparse.Namespace) -> int:
    """`studio resume`: what `studio.engine.headless.RESUME_HOOK` calls."""
    import sys

    from studio.engine import headless as h
    from studio.flow.io import FlowLoadError

    printer = h.ProgressPrinter()
    run_id = args.run_id
    try:
        entry, decisions = plan(record, list(args.approve or []), list(args.reject or []))
        flow_path = Path(record["flow_path"])
        try:
            flow, data = h.load_flow_file(str(flow_path))
        except FlowLoadError as exc:
            raise h.UsageError(str(exc)) from None
        try:
            flow.node(entry["node_id"])
        except KeyError:
            raise h.UsageError(f"{flow_path} no longer has the waiting node {entry.get('node_name')!r}") from None
        problem = h.trust_problem(flow, data, bool(getattr(args, "trust", False)), flow_path.resolve().parent)
        if problem:
            raise h.UsageError(f"{flow_path}: {problem}")
        connector = h.Connector(getattr(args, "base_url", None))
        for name in sorted(h.connection_names(flow), key=lambda n: n or ""):
            connector.settings(name)
    except (ResumeError, h.UsageError) as exc:
        print(f"studio resume: {exc}", file=sys.stderr)
        return h.EXIT_USAGE

    run_dir = h.runs_root() / run_id
    printer.line(f"resume {run_id}: {flow.name} at {entry.get('node_name')} "
                 f"({sum(d['approved'] for d in decisions.values())} approved, "
                 f"{sum(not d['approved'] for d in decisions.values())} rejected)")

    async def go() -> Any:
        loop = asyncio.get_running_loop()
        services = {"flow_path": str(flow_path.resolve()), "flow_dir": str(flow_path.resolve().parent)}
        task = asyncio.ensure_future(resume_flow(
            flow, record, entry, decisions, connect=connector.connect, run_dir=run_dir, run_id=run_id,
            on_event=h._progress_callback(printer), services=services, trusted=True))
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, task.cancel)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            return (await task)[1]
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await connector.aclose()

    try:
        result = asyncio.run(go())
    except (asyncio.CancelledError, KeyboardInterrupt):
        printer.line("interrupted")
        return h.EXIT_INTERRUPTED
    error = untouched_failure(result, entry["node_id"])
    if error is not None:
        # Nothing happened (the API was unreachable, answered 500 ...): the run still waits, with
        # its approvals, record and history entry as they were, and can be resumed again.
        printer.line(f"resume failed before anything ran: {error.get('message')}")
        printer.line(f"run {run_id} still waits for approval; nothing was changed. Try again with: "
                     f"studio resume {run_id} " + " ".join(
                         f"--{'approve' if d['approved'] else 'reject'} {i}" for i, d in decisions.items()))
        if getattr(args, "json", False):
            h.print_json({**(record.get("result") or {}), "resume_error": error})
        return h.EXIT_FAILED
    document = h.result_document(result, run_dir=run_dir)
    _keep_other_waiting(record, entry, result, document)
    _record_in_history(printer, flow, flow_path, entry, result)
    try:
        h.save_run_record(run_dir, flow_path, result, document)
    except OSError as exc:
        printer.line(f"could not save the run record in {run_dir}: {exc}")
    printer.line(f"run {run_id} {result.status} in {result.duration_ms:.0f} ms")
    if result.error and result.status == "failed":
        printer.line(f"error: {result.error.get('message')}")
    if result.status == "waiting":
        h._print_pending(result, printer)
    if getattr(args, "json", False):
        h.print_json(document)
    else:
        import json

        for name, output in h._leaf_outputs(flow, result):
            text = output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False, default=str)
            print(f"{name}: {text}")
    return h.exit_code_for(result.status)


def _add_usage(*usages: Any) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for usage in usages:
        for key, value in (usage or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
    return total


def _record_in_history(printer: Any, flow: Any, flow_path: Path, entry: dict[str, Any], result: Any) -> None:
    """`studio resume`: the resumed run's outcome in the run history (`record_resumed`)."""
    from studio.engine import headless as h

    history = h._open_history(printer)
    if history is None:
        return
    try:
        record_resumed(history, flow, str(flow_path.resolve()), entry, result, trigger="cli")
    except Exception as exc:  # noqa: BLE001 - the run is over; say why it is not recorded
        printer.line(f"could not record the run in the history: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        history.close()


def record_resumed(history: Any, flow: Any, flow_path: str | None, entry: dict[str, Any], result: Any, *,
                   trigger: str) -> None:
    """A resumed run's outcome in the run history, under the same run id (`studio resume` and the
    editor): its status, error and usage (the first part's plus this one's) and the nodes that
    ran now; the resumed node's usage and steps continue those of the first part, and pinned
    nodes keep the records of the run that produced their outputs."""
    from studio.engine.serve import node_records

    try:
        before = history.get_run(result.run_id)
    except KeyError:  # the history was cleared since: record the run from here
        before = None
        history.record_started(result.run_id, flow_id=flow.id, flow_name=flow.name, flow_path=flow_path,
                               trigger=trigger, payload=None)
    old = {n.node_id: n for n in (before.nodes if before else [])}
    nodes = []
    for rec in node_records(result):
        if result.nodes[rec.node_id].reason == "pinned" and rec.node_id in old:
            continue
        if rec.node_id == entry.get("node_id") and rec.node_id in old:
            rec.usage = _add_usage(old[rec.node_id].usage, rec.usage)
            rec.steps = (old[rec.node_id].steps or []) + (rec.steps or []) or None
        nodes.append(rec)
    history.record_finished(result.run_id, result.status, usage=_add_usage(before.usage if before else {}, result.usage),
                            error=result.error, nodes=nodes, finished_at=result.finished_at)


def untouched_failure(result: Any, node_id: str) -> dict[str, Any] | None:
    """The error of a resume that failed before anything ran at `node_id` (no model answered, no
    tool ran): the run may stay waiting, as it was, and be resumed again. None otherwise."""
    node = result.nodes.get(node_id)
    error = (node.error if node is not None else None) or {}
    if result.status == "failed" and node is not None and node.status == "failed" \
            and (error.get("details") or {}).get(UNTOUCHED):
        return error
    return None


def _keep_other_waiting(record: dict[str, Any], entry: dict[str, Any], result: Any, document: dict[str, Any]) -> None:
    """Other nodes that were waiting (not resumed this time) stay waiting in the new record."""
    from studio.engine import headless as h

    others = [w for w in record.get("waiting") or [] if w.get("node_id") != entry.get("node_id")]
    if not others:
        return
    for waiting in others:
        result.pending.append(dict(waiting))
        node = result.nodes.get(waiting.get("node_id"))
        if node is not None:
            node.status, node.reason = "waiting", None
            node.waiting = {"requests": waiting.get("requests"), "state": waiting.get("state")}
    if result.status == "succeeded":
        result.status = "waiting"
    document.clear()
    document.update(h.result_document(result, run_dir=h.runs_root() / result.run_id))


def install_resume_hook() -> None:
    from studio.engine import headless

    headless.RESUME_HOOK = resume_hook
