"""Running stored flow tests: each test runs its flow once (replayed from its cassette, recorded,
or live) and its assertions are checked against the result.

Tests run in parallel, except those of flows that would start local programs or listen on ports
(they run one at a time after the rest). Nothing of a test run goes to the run history; its run
folder (artifacts) is removed afterwards."""

from __future__ import annotations

import asyncio
import fnmatch
import io
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from studio.catalog import load_catalog
from studio.connectors.openai.client import ClientPool, ConnectionSettings
from studio.flow.cases import FlowTest
from studio.flow.models import Flow

from . import seam
from .assertions import AssertionResult, evaluate, problems
from .cassette import Cassette, Miss, cassette_path
from .changes import changes, flow_shape
from .judge import make_judge
from .transport import cassette_transports

REPLAY_BASE_HOST = "http://cassette.invalid"
REPLAY_KEY = "cassette-replay-no-key"


@dataclass
class FlowFile:
    path: Path
    flow: Flow | None = None
    data: bytes = b""
    error: str = ""


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest class, whatever its name

    flow_path: str
    flow_name: str
    test: str
    mode: str  # replay | record | live
    status: str = "passed"  # passed | failed | error
    duration_ms: float = 0.0
    run_status: str | None = None
    assertions: list[AssertionResult] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    error: str = ""
    changes: list[str] = field(default_factory=list)  # the flow since its cassette was recorded
    cassette: str = ""
    document: dict[str, Any] | None = None

    @property
    def failing_nodes(self) -> list[str]:
        """The nodes to point at: those that failed in the run (the cause), then those of failed
        assertions."""
        names = [n for n, e in ((self.document or {}).get("nodes") or {}).items() if e.get("status") == "failed"]
        names += [a.node for a in self.assertions if a.outcome == "failed" and a.node]
        return list(dict.fromkeys(names))

    def to_json(self) -> dict[str, Any]:
        return {"flow": self.flow_path, "flow_name": self.flow_name, "test": self.test, "mode": self.mode,
                "status": self.status, "duration_ms": round(self.duration_ms, 1), "run_status": self.run_status,
                "failing_nodes": self.failing_nodes, "error": self.error or None, "cassette": self.cassette or None,
                "requests_not_in_cassette": [m.to_json() for m in self.misses],
                "changed_since_recorded": self.changes,
                "assertions": [a.to_json() for a in self.assertions]}


# --- finding tests -----------------------------------------------------------------------------------


def flow_files(paths: list[str]) -> list[Path]:
    """The flow files named, folders searched for `*.flow.json`. UsageError for a missing path."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.flow.json") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise seam.UsageError(f"{text}: no such file or folder")
    return list(dict.fromkeys(found))


def load(path: Path) -> FlowFile:
    from studio.flow.io import FlowLoadError

    try:
        flow, data = seam.load_flow_file(str(path))
    except FlowLoadError as exc:
        return FlowFile(path, error=str(exc))
    return FlowFile(path, flow, data)


def selected(flow: Flow, only: list[str] | None) -> list[FlowTest]:
    if not only:
        return list(flow.tests)
    return [t for t in flow.tests if any(fnmatch.fnmatchcase(t.name, pattern) for pattern in only)]


# --- one test ------------------------------------------------------------------------------------------


class _ReplayConnector(seam.Connector):
    """Every connection answers from the cassette: no key, no network."""

    def __init__(self, cassette: Cassette) -> None:
        super().__init__(None)
        self.pool = ClientPool(cassette_transports(cassette))
        self.base_url = REPLAY_BASE_HOST + cassette.base_path

    def settings(self, name: str | None) -> Any:
        return ConnectionSettings(name=name or "default", base_url=self.base_url, api_key=REPLAY_KEY,
                                  retry_delay_s=0.0)


class _FallbackConnector(seam.Connector):
    """Nodes that name no connection use `fallback` (the editor's "Run on" choice)."""

    def __init__(self, base_url: str | None, fallback: str | None) -> None:
        super().__init__(base_url)
        self.fallback = fallback

    def settings(self, name: str | None) -> Any:
        return super().settings(name or self.fallback)


def _connector(mode: str, cassette: Cassette | None, base_url: str | None, fallback: str | None = None) -> Any:
    if mode == "replay":
        return _ReplayConnector(cassette)
    connector = _FallbackConnector(base_url, fallback)
    if cassette is not None:
        connector.pool = ClientPool(cassette_transports(cassette))
    return connector


def _run_flow(flow: Flow, test: FlowTest) -> Flow:
    """The flow as the test runs it: with a chosen trigger, the others are off."""
    if not test.trigger:
        return flow
    catalog = load_catalog()
    nodes = [n.model_copy(update={"disabled": True}) if n.name != test.trigger and n.action in catalog
             and catalog.get(n.action).kind == "trigger" else n for n in flow.nodes]
    return flow.model_copy(update={"nodes": nodes})


def _without_pinned(flow: Flow, test: FlowTest) -> Flow:
    """For the trust check: pinned nodes do not run, so what they would do needs no trust."""
    return flow.model_copy(update={"nodes": [n.model_copy(update={"disabled": True}) if n.name in test.pinned
                                             else n for n in flow.nodes]})


def needs_trust(item: FlowFile, test: FlowTest) -> bool:
    from studio.flow.capabilities import needs_trust as reasons

    return bool(reasons(_without_pinned(item.flow, test), load_catalog(), item.path.resolve().parent))


async def run_test(item: FlowFile, test: FlowTest, *, record: bool = False, base_url: str | None = None,
                   trust: bool = False, connection: str | None = None) -> TestOutcome:
    """Run one test of a loaded flow file and check its assertions."""
    assert item.flow is not None
    mode = "live" if test.mode == "live" else ("record" if record else "replay")
    outcome = TestOutcome(str(item.path), item.flow.name, test.name, mode)
    started = time.monotonic()
    try:
        await _run(item, test, outcome, base_url, trust, connection)
    except seam.UsageError as exc:
        outcome.status, outcome.error = "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - one broken test must not stop the others
        outcome.status, outcome.error = "error", f"{type(exc).__name__}: {exc}"
    outcome.duration_ms = (time.monotonic() - started) * 1000
    return outcome


async def _run(item: FlowFile, test: FlowTest, outcome: TestOutcome, base_url: str | None, trust: bool,
               connection: str | None) -> None:
    flow = item.flow
    catalog = load_catalog()
    index = flow.tests.index(test) if test in flow.tests else 0
    found = problems(flow, catalog, test, f"tests[{index}]")
    if found:
        raise seam.UsageError("\n".join(found))
    cassette = None
    if outcome.mode != "live":
        path = cassette_path(item.path, test.name)
        outcome.cassette = str(path)
        try:
            cassette = Cassette.load(path, outcome.mode)
        except ValueError as exc:
            raise seam.UsageError(str(exc)) from None
    problem = seam.trust_problem(_without_pinned(flow, test), item.data, trust, item.path.resolve().parent)
    if problem:
        raise seam.UsageError(problem)
    connector = _connector(outcome.mode, cassette, base_url, connection)
    if outcome.mode != "replay":
        for name in sorted(seam.connection_names(flow), key=lambda n: n or ""):
            settings = connector.settings(name)  # a missing key is reported before anything runs
            if cassette is not None:
                cassette.base_path = urlparse(settings.base_url).path.rstrip("/") or ""
    run_id = seam.new_run_id()
    printer = seam.ProgressPrinter(io.StringIO())
    result, run_dir, _interrupted = await seam.execute(
        _run_flow(flow, test), flow_path=item.path, payload=test.payload, connector=connector, concurrency=8,
        printer=printer, run_id=run_id, pinned=dict(test.pinned))
    try:
        document = seam.result_document(result)
        outcome.document, outcome.run_status = document, document.get("status")
        outcome.assertions = await evaluate(test, flow, catalog, document, make_judge(connector.connect, cassette))
    finally:
        await connector.aclose()
        shutil.rmtree(run_dir, ignore_errors=True)
    if cassette is not None and outcome.mode == "record":
        cassette.flow_shape = flow_shape(flow)
        cassette.save(flow.name, test.name)
    if cassette is not None and outcome.mode == "replay":
        outcome.misses = list(cassette.misses)
        if outcome.misses and not cassette.exists:
            outcome.error = f"no cassette at {cassette.path}: record it with `studio test --record`"
    failed = outcome.misses or any(a.outcome == "failed" for a in outcome.assertions)
    outcome.status = "failed" if failed else "passed"
    if failed and cassette is not None and outcome.mode == "replay":
        outcome.changes = changes(cassette.flow_shape, flow)


# --- many tests ------------------------------------------------------------------------------------------


async def run_many(items: list[FlowFile], *, only: list[str] | None = None, record: bool = False,
                   base_url: str | None = None, trust: bool = False, jobs: int = 4, connection: str | None = None,
                   on_done: Callable[[TestOutcome], None] | None = None) -> list[TestOutcome]:
    """Every selected test of every loaded flow, in file and test order."""
    work = [(item, test) for item in items if item.flow is not None for test in selected(item.flow, only)]
    results: dict[int, TestOutcome] = {}
    gate = asyncio.Semaphore(max(1, jobs))

    async def one(n: int, item: FlowFile, test: FlowTest) -> None:
        async with gate:
            results[n] = await run_test(item, test, record=record, base_url=base_url, trust=trust,
                                        connection=connection)
        if on_done is not None:
            on_done(results[n])

    safe = [(n, i, t) for n, (i, t) in enumerate(work) if not needs_trust(i, t)]
    alone = [(n, i, t) for n, (i, t) in enumerate(work) if needs_trust(i, t)]
    await asyncio.gather(*(one(n, i, t) for n, i, t in safe))
    for n, i, t in alone:
        await one(n, i, t)
    return [results[n] for n in sorted(results)]
