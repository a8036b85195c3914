"""`studio run` and `studio resume` in a terminal or CI: the run service with progress on stderr
(one line per node state change), the result document on stdout with `--json`, and the CLI's
exit codes: 0 ok, 1 a node failed, 2 bad file or usage, 3 waiting for approval, 130 interrupted
(the run is cancelled cleanly first)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from studio.credentials import SIMULATED
from studio.engine import young_collections
from studio.engine.steps import STEP_EVENT_TYPES, log_for, step_line
from studio.flow.io import FlowLoadError
from studio.flow.models import Flow
from studio.history.run_ids import new_run_id

from .connections import Connector, UsageError
from .heap import freeze_loaded, load_handlers
from .interrupt import EXIT_INTERRUPTED, InterruptGuard
from .prepare import load_flow_file, prepare_flow
from .records import leaf_outputs, open_history, result_document
from .resume import prepare_resume, start_resume
from .service import ActiveRun, start_run

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING = 0, 1, 2, 3


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """`--input KEY=VALUE` pairs as the trigger payload. VALUE is JSON when it parses (numbers,
    booleans, objects), otherwise text; a dotted KEY builds nested objects (`user.name=Ann`)."""
    payload: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--input {pair!r}: expected KEY=VALUE, for example --input topic=cats")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        target = payload
        parts = key.split(".")
        for part in parts[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise UsageError(f"--input {pair!r}: {part!r} already holds a value, not an object")
            target = child
        target[parts[-1]] = value
    return payload


class ProgressPrinter:
    """One stderr line per node state change: `[+1.234s] Summarize: succeeded (812 ms)`. Lines
    printed while an event loop runs are written together, at most every `WRITE_EVERY_S` (one
    write and flush for all of them: a write per loop turn was two writes per node of a chain, a
    tenth of a millisecond a node into a pipe); anywhere else, at once. `flush()` writes what
    waits, and the run's end calls it, so only a killed process can lose the last lines."""

    WATCHED = {"queued", "started", "succeeded", "failed", "skipped", "cancelled", "waiting", "retrying"}
    WRITE_EVERY_S = 0.05  # a person reading the terminal sees no delay; a busy run writes 20 times a second

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.time()  # wall-clock, as an event's own time (`ts`) is
        self._waiting: list[str] = []
        self._write_due: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None

    def line(self, text: str, at: float | None = None) -> None:
        """`text` stamped with the time since the printer started: now, or `at` (an event's `ts`:
        a run hands its events over a little after they happen)."""
        elapsed = (time.time() if at is None else at) - self.started
        self._waiting.append(f"[+{elapsed:7.3f}s] {text}\n")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        due = self._write_due
        if due is None or due[0] is not loop:
            self._write_due = (loop, loop.call_later(self.WRITE_EVERY_S, self.flush))

    def flush(self) -> None:
        if self._write_due is not None:
            self._write_due[1].cancel()  # (called by it, or before it: either way it is done)
            self._write_due = None
        if self._waiting:
            text = "".join(self._waiting)
            self._waiting.clear()
            self.stream.write(text)
            self.stream.flush()

    def node(self, name: str, status: str, *, duration_ms: float | None = None, error: str | None = None,
             detail: str | None = None, at: float | None = None) -> None:
        if status not in self.WATCHED:
            return
        text = f"{name}: {status}"
        if duration_ms is not None and status in {"succeeded", "failed", "cancelled", "skipped"}:
            text += f" ({duration_ms:.0f} ms)"
        if detail:
            text += f" - {detail}"
        if error:
            text += f" - {error}"
        self.line(text, at)


def progress_callback(printer: ProgressPrinter) -> Any:
    """The run's events as progress lines; agent steps are also kept for the result document."""

    def on_event(event: Any) -> None:
        kind = event.type
        # Agent steps (tool calls and results, handoffs, approvals, model calls, warnings): a line
        # each, and kept for the node's `steps` in the result document.
        # (The run service's log has this event already: only a step type can give a step.)
        step = log_for(event.run_id).add(event) if kind in STEP_EVENT_TYPES else None
        if step is not None and kind != "node_waiting":  # pending requests are listed at the end
            text = step_line(step)
            if text:
                printer.line(f"{event.node_name}: {text}", event.ts)
        if not kind.startswith("node_") or event.node_name is None:
            return
        status = kind[len("node_"):]
        data = event.data or {}
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        detail = None
        if status == "skipped":
            detail = data.get("reason")
        elif status == "retrying":
            detail = f"try {data.get('attempt', 0) + 1} of {data.get('max_tries')}"
        elif status == "waiting":
            detail = f"{len(data.get('requests') or [])} approval request(s)"
        printer.node(event.node_name, status, duration_ms=data.get("duration_ms"), error=message, detail=detail,
                     at=event.ts)

    return on_event


def exit_code_for(status: str) -> int:
    return {
        "succeeded": EXIT_OK,
        "failed": EXIT_FAILED,
        "waiting": EXIT_WAITING,
        "cancelled": EXIT_INTERRUPTED,
    }.get(status, EXIT_FAILED)


def print_json(document: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stdout
    json.dump(document, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")
    out.flush()


def print_pending(result: Any, printer: ProgressPrinter) -> None:
    printer.line("waiting for approval:")
    for pending in result.pending:
        for request in pending.get("requests") or []:
            request_id = request.get("id") if isinstance(request, dict) else None
            text = json.dumps(request, ensure_ascii=False, default=str)
            printer.line(f"  {pending.get('node_name')}: {request_id or ''} {text}".rstrip())
    printer.line(f"continue with: studio resume {result.run_id} --approve ID ... / --reject ID ...")


async def watch(active: ActiveRun, printer: ProgressPrinter) -> tuple[Any, bool]:
    """The run's result, with Ctrl-C (SIGINT) or SIGTERM cancelling it cleanly; (result, interrupted)."""
    guard = InterruptGuard(asyncio.get_running_loop(), active, printer.line, active.run_id)
    guard.install()
    try:
        result = await active.result()  # a cancelled wait cancels the run and still returns its result
    finally:
        guard.close()
    return result, guard.interrupted or active.interrupted


async def execute(flow: Flow, *, flow_path: Path, payload: Any, connector: Connector, concurrency: int,
                  printer: ProgressPrinter, run_id: str | None = None, pinned: dict[str, Any] | None = None,
                  history: Any = None) -> tuple[Any, Path, bool]:
    """Run the flow to its end (recorded in `history` when given, its run record saved); Ctrl-C
    or SIGTERM cancels it cleanly. Returns the result, its run folder and whether the user
    interrupted."""
    active = start_run(flow, connect=connector.connect, trigger="cli", payload=payload, flow_path=flow_path,
                       history=history, run_id=run_id, run_record="always", on_event=progress_callback(printer),
                       pinned=pinned, max_concurrency=concurrency,
                       trusted=True,  # prepare_flow refused the flow before this unless it is trusted
                       output_previews=False,  # progress lines show no outputs: no JSON preview per node
                       warn=printer.line)
    try:
        result, interrupted = await watch(active, printer)
    finally:
        await connector.aclose()
    return result, active.run_dir, interrupted


def _finish(flow: Flow, result: Any, run_dir: Path | None, printer: ProgressPrinter, as_json: bool,
            document: dict[str, Any]) -> None:
    summary = f"run {result.run_id} {result.status} in {result.duration_ms:.0f} ms"
    if result.usage:
        summary += f" ({result.usage.get('total_tokens', 0)} tokens)"
    printer.line(summary)
    if result.error and result.status == "failed":
        printer.line(f"error: {result.error.get('message')}")
    if result.status == "waiting":
        print_pending(result, printer)
    if as_json:
        print_json(document)
    else:
        for name, output in leaf_outputs(flow, result):
            text = output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False, default=str)
            print(f"{name}: {text}")


def run_in_terminal(flow_file: str, *, inputs: list[str] = (), base_url: str | None = None, as_json: bool = False,
                    trust: bool = False, concurrency: int | None = None, use_pinned: bool = False,
                    connection: str | None = None, simulated: bool = False) -> int:
    """`studio run FLOW.json [--input KEY=VALUE ...] [--base-url URL] [--connection NAME | --simulated]
    [--json] [--trust] [--concurrency N] [--use-pinned]`; returns the exit code."""
    printer = ProgressPrinter()
    try:
        flow, data = load_flow_file(flow_file)
    except FlowLoadError as exc:
        print(f"studio run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        payload = parse_inputs(list(inputs or []))
        concurrency = concurrency if concurrency is not None else 8
        if concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        prepared = prepare_flow(flow, data, flow_file, trust=trust, base_url=base_url,
                                connection=SIMULATED if simulated else connection)
    except UsageError as exc:
        print(f"studio run: {exc}", file=sys.stderr)
        return EXIT_USAGE

    run_id = new_run_id()
    printer.line(f"run {run_id}: {flow.name} ({len(flow.nodes)} nodes)")
    history = open_history(printer.line)
    pinned = history.pinned_outputs(flow.id) if history is not None and use_pinned else {}
    if pinned:
        printer.line(f"reusing {len(pinned)} pinned output(s)")
    load_handlers([flow])
    freeze_loaded(collect=False)  # the set-up, out of the run's collections (runs/heap.py)
    try:
        with young_collections.held():  # from the set-up on, as the run itself would (engine/young_collections.py)
            result, run_dir, interrupted = asyncio.run(execute(
                flow, flow_path=prepared.path, payload=payload, connector=prepared.connector,
                concurrency=concurrency, printer=printer, run_id=run_id, pinned=pinned, history=history))
    finally:
        printer.flush()  # the lines still waiting for their write
        if history is not None:
            history.close()
    _finish(flow, result, run_dir, printer, as_json, result_document(result, run_dir=run_dir))
    if interrupted or result.status == "cancelled":
        return EXIT_INTERRUPTED
    return exit_code_for(result.status)


def resume_in_terminal(run_id: str, *, approve: list[str] = (), reject: list[str] = (), base_url: str | None = None,
                       as_json: bool = False, trust: bool = False) -> int:
    """`studio resume RUN_ID --approve ID --reject ID`: continue a run that waits for approval."""
    printer = ProgressPrinter()
    try:
        prepared = prepare_resume(run_id, list(approve or []), list(reject or []), trust=trust, base_url=base_url)
    except UsageError as exc:
        print(f"studio resume: {exc}", file=sys.stderr)
        return EXIT_USAGE
    entry, decisions = prepared.entry, prepared.decisions
    printer.line(f"resume {run_id}: {prepared.flow.name} at {entry.get('node_name')} "
                 f"({prepared.approved} approved, {len(decisions) - prepared.approved} rejected)")
    history = open_history(printer.line)
    load_handlers([prepared.flow])
    freeze_loaded(collect=False)

    async def go() -> tuple[ActiveRun, Any, bool]:
        active = start_resume(prepared, history=history, on_event=progress_callback(printer), warn=printer.line,
                              output_previews=False)  # progress lines show no outputs
        try:
            result, interrupted = await watch(active, printer)
        finally:
            await prepared.connector.aclose()
        return active, result, interrupted

    try:
        with young_collections.held():
            active, result, interrupted = asyncio.run(go())
    finally:
        printer.flush()  # the lines still waiting for their write
        if history is not None:
            history.close()
    if active.untouched:
        # Nothing happened (the API was unreachable, answered 500 ...): the run still waits, with
        # its approvals, record and history entry as they were, and can be resumed again.
        error = result.nodes[entry["node_id"]].error or {}
        printer.line(f"resume failed before anything ran: {error.get('message')}")
        printer.line(f"run {run_id} still waits for approval; nothing was changed. Try again with: "
                     f"studio resume {run_id} " + " ".join(
                         f"--{'approve' if d['approved'] else 'reject'} {i}" for i, d in decisions.items()))
        if as_json:
            print_json({**(prepared.record.get("result") or {}), "resume_error": error})
        return EXIT_FAILED
    _finish(prepared.flow, result, active.run_dir, printer, as_json, active.document or {})
    if interrupted or result.status == "cancelled":
        return EXIT_INTERRUPTED
    return exit_code_for(result.status)
