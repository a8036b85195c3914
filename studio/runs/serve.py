"""`studio serve`: keep the schedule and webhook triggers of some flows active, headless.

Every run goes through the run service and is recorded in the run history. SIGINT/SIGTERM stop
the triggers, give runs in flight a grace period to finish, then cancel the rest; each ends
recorded (succeeded, failed or cancelled), none lost."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from studio.catalog import Catalog, load_catalog
from studio.credentials.trust import TrustStore
from studio.engine import young_collections
from studio.engine.executor import RunResult
from studio.engine.handlers import default_registry
from studio.engine.plan import FlowPlan
from studio.flow.capabilities import FlowCapabilities, analyse, needs_trust
from studio.flow.errors import FlowLoadError
from studio.flow.io import load_flow
from studio.flow.models import Flow, Node
from studio.history import RunHistory, open_store
from studio.history.batched import BatchedHistory
from studio.history.run_ids import new_run_id
from studio.logs import setup_logging
from studio.triggers.schedule import Clock, Schedule, run_schedule
from studio.triggers.webhook import WebhookReply, WebhookRoute, WebhookServer, answer_with_run

from .connections import Connector
from .heap import freeze_loaded
from .records import recover_interrupted
from .run_lines import RunLines
from .service import ActiveRun, start_run

log = logging.getLogger("studio.serve")

WEBHOOK_SECRET_ENV = "FLOW_STUDIO_WEBHOOK_SECRET"
"""Where the shared secret of webhook triggers comes from: never from the flow file."""


@dataclass
class ServedFlow:
    flow: Flow
    path: str | None
    trigger: Node
    # The flow's capability analysis and run plan (engine/plan.py), made once when serving starts
    # (the flow does not change) and shared by every run.
    capabilities: FlowCapabilities | None = None
    plan: FlowPlan | None = None


@dataclass
class Server:
    """The runtime behind `studio serve`, usable in-process by tests."""

    flows: list[ServedFlow]
    connect: Callable[[str | None], Awaitable[Any]]
    history: RunHistory
    host: str = "127.0.0.1"
    port: int = 0
    catalog: Catalog | None = None
    registry: Any = None  # a HandlerRegistry; None means the installed handlers
    clock: Clock | None = None
    runs_root: Path | None = None
    grace_s: float = 10.0
    max_concurrency: int = 8
    # Set once the flows' capabilities were allowed (load_served_flows); handlers refuse without it.
    trusted: bool = False
    # Queue mode (`studio serve --queue`): each firing is handed to this instead of run here
    # (studio/queue/enqueue.py); it returns the run id the enqueuer chose.
    dispatch: Callable[[ServedFlow, Any, str], Awaitable[str]] | None = None
    _inflight: dict[str, ActiveRun] = field(default_factory=dict)
    _tasks: set[asyncio.Task] = field(default_factory=set)
    _webhooks: WebhookServer | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _writer: BatchedHistory | None = None  # the history's writes, committed together per loop turn
    _run_lines: RunLines = field(default_factory=lambda: RunLines(log))  # a line per run, folded under load

    async def run_flow(self, served: ServedFlow, payload: Any, trigger_kind: str,
                       extra_services: dict[str, Any] | None = None) -> RunResult | None:
        if self.dispatch is not None:  # queue mode: a worker runs it and records it
            run_id = await self.dispatch(served, payload, trigger_kind)
            self._run_lines.run("queued", "run %s of %r (%s): queued", run_id, served.flow.name, trigger_kind)
            return None
        run_id = new_run_id()
        if self._writer is None and hasattr(self.history, "batch"):  # the SQLite history groups commits
            self._writer = BatchedHistory(self.history)
        active = start_run(served.flow, connect=self.connect, trigger=trigger_kind, payload=payload,
                           flow_path=served.path, flow_path_resolved=served.plan is not None,  # by start()
                           plan=served.plan,
                           history=self._writer or self.history, run_id=run_id,
                           run_dir=(self.runs_root / run_id) if self.runs_root else None,
                           run_record="never", catalog=self.catalog, registry=self.registry,
                           trigger_node=served.trigger.id, max_concurrency=self.max_concurrency,
                           trusted=self.trusted, services=extra_services)
        self._inflight[active.run_id] = active
        try:
            result = await active.result()
            if self._writer is not None:
                await self._writer.flushed()  # recorded before anyone is answered
        finally:
            self._inflight.pop(active.run_id, None)
        self._run_lines.run(result.status, "run %s of %r (%s): %s in %.0f ms", active.run_id, served.flow.name,
                            trigger_kind, result.status, result.duration_ms)
        return result

    def _webhook_handler(self, served: ServedFlow) -> Callable[[dict[str, Any]], Awaitable[WebhookReply]]:
        values = served.trigger.values
        reply_node = values.get("response_node") or None
        mode = values.get("response_mode") or ("node" if reply_node else "immediate")

        async def handle(payload: dict[str, Any]) -> WebhookReply:
            if mode == "immediate":
                task = asyncio.create_task(self.run_flow(served, payload, "webhook"))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return WebhookReply(202, {"status": "accepted"})
            return await answer_with_run(mode, reply_node,
                                         lambda services: self.run_flow(served, payload, "webhook", services))

        return handle

    async def _schedule_fire(self, served: ServedFlow) -> Callable[[float], Awaitable[None]]:
        async def fire(when: float) -> None:
            await self.run_flow(served, {"scheduled_at": when}, "schedule")

        return fire

    async def start(self) -> None:
        # Loaded once, before the first request: a first run would otherwise import every handler
        # module (seconds) while requests queue, and each run would re-analyse its flow.
        if self.catalog is None:
            self.catalog = load_catalog()
        if self.registry is None:
            self.registry = default_registry()
        for served in self.flows:
            if served.path:
                served.path = str(Path(served.path).resolve())  # once, not per run
            flow_dir = str(Path(served.path).parent) if served.path else None  # the runs' flow_dir service
            if served.capabilities is None:
                served.capabilities = analyse(served.flow, self.catalog, flow_dir)
            served.plan = FlowPlan.build(served.flow, self.catalog, capabilities=served.capabilities,
                                         flow_dir=flow_dir)
            self.registry.load_for(node.action for node in served.flow.nodes)  # agents' handlers too
        for served in self.flows:
            action = served.trigger.action
            if action == "trigger.webhook":
                if self._webhooks is None:
                    self._webhooks = WebhookServer(self.host, self.port)
                values = served.trigger.values
                mode = values.get("response_mode") or ("node" if values.get("response_node") else "immediate")
                if self.dispatch is not None and mode != "immediate":
                    raise ValueError(f"{served.path or served.flow.name}: the Webhook trigger answers with the run's "
                                     f"result ({mode!r}), which a queued run cannot; set 'Response Mode' to "
                                     "'immediate' to serve it with --queue")
                header = values.get("secret_header") or None
                if header and not os.environ.get(WEBHOOK_SECRET_ENV):
                    # A header named without a secret would leave the endpoint open: refuse.
                    raise ValueError(f"{served.path or served.flow.name}: the Webhook trigger's 'Secret Header' is "
                                     f"{header!r}, but {WEBHOOK_SECRET_ENV} is not set; set it to the shared secret")
                self._webhooks.add(WebhookRoute(
                    method=str(values.get("method") or "POST"), path=str(values.get("path") or served.flow.id),
                    handler=self._webhook_handler(served), secret_header=header,
                    secret=os.environ.get(WEBHOOK_SECRET_ENV) if header else None,
                    sensitive_headers=_header_names(values.get("sensitive_headers"))))
            elif action == "trigger.schedule":
                schedule = Schedule.from_inputs(served.trigger.values)
                task = asyncio.create_task(run_schedule(schedule, await self._schedule_fire(served),
                                                        clock=self.clock, stop=self._stop))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self._webhooks is not None:
            await self._webhooks.start()
            self.port = self._webhooks.port
            log.info("webhooks listening on %s", self._webhooks.base_url)

    async def stop(self) -> None:
        """Stop triggers, let runs in flight finish within the grace period, cancel the rest."""
        self._stop.set()
        if self._webhooks is not None:
            await self._webhooks.stop()
        pending = list(self._inflight.values())
        if pending:
            log.info("waiting up to %.0f s for %d run(s) in flight", self.grace_s, len(pending))
            await asyncio.wait([asyncio.ensure_future(r.handle.result()) for r in pending], timeout=self.grace_s)
            for active in list(self._inflight.values()):
                active.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._run_lines.report()  # the last second's folded runs
        if self._writer is not None:
            self._writer.flush()


def _header_names(value: Any) -> tuple[str, ...]:
    """The Webhook trigger's 'Sensitive Headers': a list, or one comma-separated string."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    return tuple(str(v).strip() for v in items if str(v).strip())


def load_served_flows(paths: list[str], catalog: Catalog, *, trust: bool) -> list[ServedFlow]:
    served = []
    store = TrustStore()
    for path in paths:
        flow = load_flow(path, catalog=catalog)
        reasons = needs_trust(flow, catalog, Path(path).resolve().parent)
        try:
            trusted = trust or not reasons or store.is_trusted(Path(path).read_bytes())
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the file ({exc.strerror or type(exc).__name__})") from None
        if not trusted:
            raise PermissionError(f"{path}: not trusted on this machine:\n  " + "\n  ".join(reasons)
                                  + "\nLook at what it would start, then pass --trust to allow it.")
        triggers = [n for n in flow.nodes if n.action in ("trigger.schedule", "trigger.webhook") and not n.disabled]
        if not triggers:
            raise ValueError(f"{path}: has no Schedule or Webhook trigger to serve")
        served.extend(ServedFlow(flow=flow, path=str(Path(path).resolve()), trigger=t) for t in triggers)
    return served


async def serve_async(paths: list[str], *, connect: Callable[[str | None], Awaitable[Any]], host: str = "127.0.0.1",
                      port: int = 8765, grace: float = 10.0, trust: bool = False,
                      dispatch: Callable[[ServedFlow, Any, str], Awaitable[str]] | None = None) -> int:
    """Serve the triggers of the flow files until SIGINT or SIGTERM."""
    catalog = load_catalog()
    flows = load_served_flows(list(paths), catalog, trust=trust)
    history = open_store()  # the user's SQLite history, or $FLOW_STUDIO_HISTORY
    recover_interrupted(history)
    server = Server(flows=flows, connect=connect, history=history, host=host, port=port,
                    catalog=catalog, grace_s=grace, trusted=True, dispatch=dispatch)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    await server.start()
    freeze_loaded(collect=True)  # the set-up lives as long as the process (runs/heap.py)
    print(f"serving {len(flows)} trigger(s)" + (f" on http://{host}:{server.port}" if server._webhooks else ""),
          flush=True)
    with young_collections.held():  # requests waiting for their runs are in flight too
        await stop.wait()
        log.info("stopping")
        await server.stop()
    history.close()
    return 0


def serve_in_terminal(paths: list[str], *, host: str = "127.0.0.1", port: int = 8765, base_url: str | None = None,
                      grace: float = 10.0, trust: bool = False,
                      dispatch: Callable[[ServedFlow, Any, str], Awaitable[str]] | None = None) -> int:
    """`studio serve FLOW.json ...`; returns the exit code (2 for a bad or untrusted flow file).
    With `dispatch` (`--queue`), firings are enqueued for `studio worker` instead of run here."""
    setup_logging()
    if not paths:
        print("studio serve: give at least one flow file", file=sys.stderr, flush=True)
        return 2

    async def main() -> int:
        connector = Connector(base_url)
        try:
            return await serve_async(paths, connect=connector.connect, host=host, port=port, grace=grace, trust=trust,
                                     dispatch=dispatch)
        finally:
            await connector.aclose()

    try:
        return asyncio.run(main())
    except (PermissionError, ValueError, FlowLoadError) as exc:  # a bad flow file: exit 2, no traceback
        print(f"studio serve: {exc}", file=sys.stderr, flush=True)
        return 2
