"""`studio run` and `studio resume`: run a flow file from a terminal or CI, without the editor.

Progress goes to stderr (one line per node state change), the result document to stdout with
`--json`. Exit codes are the CLI's: 0 ok, 1 a node failed, 2 bad file or usage, 3 waiting for
approval, 130 interrupted (the run is cancelled cleanly first)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlparse

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Used only for servers on this machine (a local OpenAI-compatible server or the simulator),
# which ignore the key but whose clients insist on sending one.
PLACEHOLDER_KEY = "sk-local-placeholder"


class UsageError(Exception):
    """Bad command-line input; the message says what to write instead."""


# --- command-line input ------------------------------------------------------------------------


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


def is_local_url(url: str) -> bool:
    """True for servers on this machine (loopback addresses, localhost)."""
    host = (urlparse(url).hostname or "").strip("[]").lower()
    if host in {"localhost", "localhost.localdomain"} or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- progress ----------------------------------------------------------------------------------


class ProgressPrinter:
    """One stderr line per node state change: `[+1.234s] Summarize: succeeded (812 ms)`."""

    WATCHED = {"queued", "started", "succeeded", "failed", "skipped", "cancelled", "waiting", "retrying"}

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()

    def line(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[+{elapsed:7.3f}s] {text}", file=self.stream, flush=True)

    def node(self, name: str, status: str, *, duration_ms: float | None = None, error: str | None = None,
             detail: str | None = None) -> None:
        if status not in self.WATCHED:
            return
        text = f"{name}: {status}"
        if duration_ms is not None and status in {"succeeded", "failed", "cancelled", "skipped"}:
            text += f" ({duration_ms:.0f} ms)"
        if detail:
            text += f" - {detail}"
        if error:
            text += f" - {error}"
        self.line(text)


# --- the result document -----------------------------------------------------------------------


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


def result_document(result: Any, *, run_dir: Path | None = None) -> dict[str, Any]:
    """The `--json` document: the run's status and usage, and per node (by name) its status,
    duration, output and error (and an agent's `steps`, when this process ran it); waiting runs
    list their pending approval requests."""
    from .steps import steps_of

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


# --- where runs live ---------------------------------------------------------------------------


def runs_root() -> Path:
    """The folder that holds one sub-folder per run (artifacts, the saved result)."""
    try:
        from studio.paths import data_dir
    except ImportError:  # the paths module is optional: fall back to a folder under the temp dir
        import tempfile

        return Path(tempfile.gettempdir()) / "flow-studio-runs"
    root = data_dir() / "runs"
    # Private (0700) before any run writes artifacts in it: payloads and outputs are the user's.
    try:
        import os

        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix" and root.stat().st_mode & 0o077:
            os.chmod(root, 0o700)
    except OSError:
        pass  # a read-only home: reading still works, writing says why
    return root


def save_run_record(run_dir: Path, flow_path: Path, result: Any, document: dict[str, Any]) -> Path:
    """Keep what `studio resume` needs next to the run's artifacts: the flow file it ran, the
    result document, and for waiting nodes the state their handlers asked to keep."""
    record = {
        "flow_path": str(flow_path.resolve()),
        "result": document,
        "waiting": [
            {"node_id": p.get("node_id"), "node_name": p.get("node_name"),
             "requests": p.get("requests", []), "state": p.get("state")}
            for p in result.pending
        ],
    }
    import os

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


# --- preparing a run ---------------------------------------------------------------------------


def load_flow_file(path_text: str) -> tuple[Any, bytes]:
    """The flow and the file's bytes (the trust store keys on them). FlowLoadError on a bad file."""
    from studio.flow.io import FlowLoadError, load_flow

    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlowLoadError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return load_flow(path), data


def _catalog() -> Any:
    try:
        from studio.catalog import load_catalog

        return load_catalog()
    except ImportError:  # catalog data not installed: titles fall back to action ids
        return None


def trust_problem(flow: Any, data: bytes, trusted_flag: bool, flow_dir: Any = None) -> str | None:
    """Why this flow may not run here without --trust, or None."""
    from studio.flow.capabilities import needs_trust

    reasons = needs_trust(flow, _catalog(), flow_dir)
    if not reasons or trusted_flag:
        return None
    try:
        from studio.credentials.trust import TrustStore

        if TrustStore().is_trusted(data):
            return None
    except ImportError:  # no trust store: only --trust allows it
        pass
    lines = "\n".join(f"  - {reason}" for reason in reasons)
    return (
        "this flow would do these things on this machine:\n"
        f"{lines}\n"
        "Check them, then run again with --trust to allow it."
    )


def connection_names(flow: Any) -> set[str | None]:
    """The connections the flow's enabled nodes name (None: the default connection). Names
    computed by expressions are resolved when the node runs."""
    names: set[str | None] = set()
    catalog = _catalog()
    for node in flow.nodes:
        if node.disabled:
            continue
        action = catalog.get(node.action) if catalog is not None and node.action in catalog else None
        if action is not None and not action.uses_connection:
            continue
        value = node.values.get("connection")
        if value is None or value == "":
            if action is not None:
                names.add(None)
        elif isinstance(value, str) and "{{" not in value:
            names.add(value)
    return names


class Connector:
    """Opens the flow's connections for handlers: each name is resolved once through the
    credential store (with --base-url applied) and its client comes from one shared pool."""

    def __init__(self, base_url: str | None) -> None:
        from studio.connectors.openai.client import ClientPool

        self.base_url = base_url
        self.pool = ClientPool()
        self._settings: dict[str | None, Any] = {}

    def settings(self, name: str | None) -> Any:
        """The ConnectionSettings for `name`; UsageError explains a missing key or connection."""
        if name in self._settings:
            return self._settings[name]
        from studio.credentials import resolve

        try:
            settings = resolve(name, base_url_override=self.base_url)
        except Exception as exc:  # unknown connection, no key ...: the user must fix the setup
            settings = self._placeholder(name, exc)
        if not getattr(settings, "api_key", None):
            settings = self._placeholder(name, None, settings)
        self._settings[name] = settings
        return settings

    def _placeholder(self, name: str | None, error: Exception | None, settings: Any = None) -> Any:
        """A server on this machine gets a placeholder key; anything else needs a real one."""
        label = f"connection {name!r}" if name else "the default connection"
        if self.base_url and is_local_url(self.base_url):
            if settings is not None:
                return _with_key(settings, PLACEHOLDER_KEY)
            from studio.credentials import ConnectionSettings

            return ConnectionSettings(name=name or "default", base_url=self.base_url, api_key=PLACEHOLDER_KEY)
        local = " (a --base-url on this machine needs no key)" if self.base_url else ""
        if error is not None:  # the credential store already says what is missing and what to do
            raise UsageError(f"{label}: {error}{local}")
        raise UsageError(f"no API key for {label}. Save one in the editor's Connections, or set OPENAI_API_KEY{local}")

    async def connect(self, name: str | None) -> Any:
        try:
            settings = self.settings(name or None)
        except UsageError as exc:
            from studio.engine.context import NodeError

            raise NodeError(str(exc), retryable=False) from None
        return await self.pool.get(settings)

    async def aclose(self) -> None:
        await self.pool.aclose()


def _with_key(settings: Any, key: str) -> Any:
    if hasattr(settings, "model_copy"):
        return settings.model_copy(update={"api_key": key})
    import dataclasses

    return dataclasses.replace(settings, api_key=key)


# --- running -----------------------------------------------------------------------------------


def _progress_callback(printer: ProgressPrinter) -> Any:
    from .steps import log_for, step_line

    def on_event(event: Any) -> None:
        kind = event.type
        # Agent steps (tool calls and results, handoffs, approvals, model calls, warnings): a line
        # each, and kept for the node's `steps` in the result document.
        step = log_for(event.run_id).add(event)
        if step is not None and kind != "node_waiting":  # pending requests are listed at the end
            text = step_line(step)
            if text:
                printer.line(f"{event.node_name}: {text}")
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
        printer.node(event.node_name, status, duration_ms=data.get("duration_ms"), error=message, detail=detail)

    return on_event


# After Ctrl-C or SIGTERM, how long `execute` lets the run stop by itself before it records the
# run as cancelled and quits (a node busy in Python code never gives the event loop a turn).
INTERRUPT_GRACE_S = 1.0


class _InterruptGuard:
    """Ctrl-C (SIGINT) and SIGTERM while a run executes. Python-level handlers (`signal.signal`:
    they run between bytecodes, even while a node keeps the event loop busy) ask the loop to
    cancel the run, thread-safely, and arm a watchdog: if the run has not ended
    `INTERRUPT_GRACE_S` later, the watchdog's thread records it as cancelled in the run history
    and the process exits 130. A second signal does that at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, handle: Any, printer: ProgressPrinter, run_id: str) -> None:
        self.loop = loop
        self.handle = handle
        self.printer = printer
        self.run_id = run_id
        self.interrupted = False
        self._lock = threading.Lock()
        self._ended = False
        self._timer: threading.Timer | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError, RuntimeError):  # not the main thread: no handlers
                pass

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.interrupted:  # a second one: stop waiting for clean-up
            threading.Thread(target=self._give_up, args=(True,), name="studio-interrupt", daemon=True).start()
            return
        self.interrupted = True
        try:
            self.printer.line("interrupted: cancelling the run (Ctrl-C again to quit at once)")
        except Exception:  # noqa: BLE001 - e.g. the main thread was itself writing to stderr
            pass
        try:
            self.loop.call_soon_threadsafe(self.handle.cancel)
        except RuntimeError:  # the loop is already closed
            pass
        self._timer = threading.Timer(INTERRUPT_GRACE_S, self._give_up)
        self._timer.daemon = True
        self._timer.start()

    def _give_up(self, at_once: bool = False) -> None:
        with self._lock:  # held until the process exits: the main thread cannot report meanwhile
            if self._ended:
                return
            why = "interrupted again" if at_once else f"the run did not stop within {INTERRUPT_GRACE_S:g} s"
            try:
                self.printer.line(f"{why}: recording run {self.run_id} as cancelled and quitting")
            except Exception:  # noqa: BLE001
                pass
            try:
                from studio.history import RunHistory

                RunHistory().record_finished(self.run_id, "cancelled", error={
                    "message": f"interrupted (Ctrl-C or SIGTERM); {why}, so the process quit",
                    "details": {}, "type": "Interrupted", "node": None})
            except Exception:  # noqa: BLE001 - no history, or no such run: quit all the same
                pass
            os._exit(EXIT_INTERRUPTED)

    def close(self) -> None:
        """The run has ended: disarm the watchdog and put the previous handlers back."""
        with self._lock:
            self._ended = True
        if self._timer is not None:
            self._timer.cancel()
        for sig, previous in self._previous.items():
            try:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
            except (ValueError, OSError, RuntimeError):
                pass
        self._previous.clear()


def _crashed_result(flow: Any, handle: Any, exc: BaseException) -> Any:
    """A `failed` result for a run whose executor itself raised (MemoryError, a bug): nodes
    that were running end `cancelled`, those not started `skipped`, and the error says why."""
    from .executor import NodeResult, RunResult

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


async def execute(flow: Any, *, flow_path: Path, payload: Any, connector: Connector, concurrency: int,
                  printer: ProgressPrinter, run_id: str, pinned: dict[str, Any] | None = None
                  ) -> tuple[Any, Path, bool]:
    """Run the flow to its end; Ctrl-C (SIGINT) or SIGTERM cancels it cleanly. Returns the result,
    its run folder and whether the user interrupted."""
    from .executor import start_run

    run_dir = runs_root() / run_id
    handle = start_run(
        flow,
        trigger_payload=payload,
        connect=connector.connect,
        run_dir=run_dir,
        max_concurrency=concurrency,
        on_event=_progress_callback(printer),
        services={"flow_path": str(flow_path.resolve()), "flow_dir": str(flow_path.resolve().parent)},
        run_id=run_id,
        keep_events=False,
        pinned_outputs=pinned or None,
        trusted=True,  # run_command refused the flow before this unless it is trusted
    )
    guard = _InterruptGuard(asyncio.get_running_loop(), handle, printer, run_id)
    guard.install()
    try:
        try:
            result = await handle.result()
        except asyncio.CancelledError:  # the task awaiting the run was cancelled
            guard.interrupted = True
            handle.cancel()
            result = await handle.result()
    except Exception as exc:  # noqa: BLE001 - the executor itself broke: a failed run, not a traceback
        logging.getLogger(__name__).error("run %s crashed", run_id, exc_info=exc)
        result = _crashed_result(flow, handle, exc)
    finally:
        guard.close()
        await connector.aclose()
    return result, run_dir, guard.interrupted


def _leaf_outputs(flow: Any, result: Any) -> list[tuple[str, Any]]:
    """Outputs of the nodes nothing else consumes: what a run "produced"."""
    sources = {w.source.node for w in flow.wires}
    leaves = []
    for node in flow.nodes:
        entry = result.nodes.get(node.id)
        if entry is not None and node.id not in sources and entry.status == "succeeded":
            leaves.append((node.name, entry.output))
    return leaves


def run_command(args: argparse.Namespace) -> int:
    """`studio run FLOW.json [--input KEY=VALUE ...] [--base-url URL] [--json] [--trust]
    [--concurrency N]`."""
    import uuid

    from studio.flow.io import FlowLoadError

    printer = ProgressPrinter()
    try:
        flow, data = load_flow_file(args.flow)
    except FlowLoadError as exc:
        print(f"studio run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        payload = parse_inputs(list(args.input or []))
        concurrency = args.concurrency if args.concurrency is not None else 8
        if concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        problem = trust_problem(flow, data, bool(getattr(args, "trust", False)), Path(args.flow).resolve().parent)
        if problem:
            raise UsageError(f"{args.flow}: {problem}")
        connector = Connector(args.base_url)
        for name in sorted(connection_names(flow), key=lambda n: n or ""):
            connector.settings(name)  # a missing key is reported now, before anything runs
    except UsageError as exc:
        print(f"studio run: {exc}", file=sys.stderr)
        return EXIT_USAGE

    run_id = uuid.uuid4().hex
    printer.line(f"run {run_id}: {flow.name} ({len(flow.nodes)} nodes)")
    history = _open_history(printer)
    if history is not None:
        history.record_started(run_id, flow_id=flow.id, flow_name=flow.name, flow_path=str(Path(args.flow).resolve()),
                               trigger="cli", payload=payload)
    pinned = history.pinned_outputs(flow.id) if history is not None and getattr(args, "use_pinned", False) else {}
    if pinned:
        printer.line(f"reusing {len(pinned)} pinned output(s)")
    result, run_dir, interrupted = asyncio.run(
        execute(flow, flow_path=Path(args.flow), payload=payload, connector=connector,
                concurrency=concurrency, printer=printer, run_id=run_id, pinned=pinned)
    )
    if history is not None:
        from studio.engine.serve import record_result

        try:
            record_result(history, result)
        except Exception as exc:  # noqa: BLE001 - the run is over; say why it is not recorded
            printer.line(f"could not record the run in the history: {type(exc).__name__}: {str(exc)[:200]}")
    document = result_document(result, run_dir=run_dir)
    try:
        save_run_record(run_dir, Path(args.flow), result, document)
    except OSError as exc:
        printer.line(f"could not save the run record in {run_dir}: {exc}")
    summary = f"run {result.run_id} {result.status} in {result.duration_ms:.0f} ms"
    if result.usage:
        summary += f" ({result.usage.get('total_tokens', 0)} tokens)"
    printer.line(summary)
    if result.error and result.status == "failed":
        printer.line(f"error: {result.error.get('message')}")
    if result.status == "waiting":
        _print_pending(result, printer)
    if args.json:
        print_json(document)
    else:
        for name, output in _leaf_outputs(flow, result):
            text = output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False, default=str)
            print(f"{name}: {text}")
    if interrupted or result.status == "cancelled":
        return EXIT_INTERRUPTED
    return exit_code_for(result.status)


def _open_history(printer: ProgressPrinter) -> Any:
    """The run history every run is recorded in; a broken database warns and the run goes on.
    Runs a killed process left 'running' are closed as cancelled first (live processes' stay)."""
    try:
        from studio.history import RunHistory

        history = RunHistory()
    except Exception as exc:  # noqa: BLE001 - recording must never stop a run
        printer.line(f"run history unavailable ({exc}); this run is not recorded")
        return None
    try:
        history.mark_interrupted()
    except Exception as exc:  # noqa: BLE001 - a busy database must not stop a run either
        printer.line(f"could not close runs of stopped processes ({exc})")
    return history


def _print_pending(result: Any, printer: ProgressPrinter) -> None:
    printer.line("waiting for approval:")
    for pending in result.pending:
        for request in pending.get("requests") or []:
            request_id = request.get("id") if isinstance(request, dict) else None
            text = json.dumps(request, ensure_ascii=False, default=str)
            printer.line(f"  {pending.get('node_name')}: {request_id or ''} {text}".rstrip())
    printer.line(f"continue with: studio resume {result.run_id} --approve ID ... / --reject ID ...")


# --- resume ------------------------------------------------------------------------------------

# Set by the agents' approval code: `async def resume(record, approve, reject, connect) -> result`.
# Until it is installed, `studio resume` explains that resuming is not available yet.
RESUME_HOOK: Any = None


def resume_command(args: argparse.Namespace) -> int:
    """`studio resume RUN_ID --approve ID --reject ID`: continue a run that waits for approval."""
    record = load_run_record(args.run_id)
    if record is None:
        print(f"studio resume: no run {args.run_id!r} in {runs_root()}", file=sys.stderr)
        return EXIT_USAGE
    if not record.get("waiting"):
        status = (record.get("result") or {}).get("status")
        print(f"studio resume: run {args.run_id} is not waiting for approval (it {status})", file=sys.stderr)
        return EXIT_USAGE
    if RESUME_HOOK is None:  # handler modules install it when imported (the agents package does)
        from .handlers import default_registry

        default_registry()
    if RESUME_HOOK is None:
        print("studio resume: resuming a waiting run is not supported yet; run the flow again "
              "and approve in the editor", file=sys.stderr)
        return EXIT_USAGE
    return int(RESUME_HOOK(record, args))
