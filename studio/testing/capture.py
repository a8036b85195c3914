"""Making a test from a run: "Save as test" on a past run in History.

The run's trigger payload becomes the test's payload; the flow runs once more while its cassette
is recorded, and that run's outcome becomes the expectations (each node's status, and the output
of every node nothing else consumes), so the cassette and the expectations always agree and the
new test passes in `studio test` until the flow's behaviour changes."""

from __future__ import annotations

import json
from typing import Any

from studio.flow.cases import Assertion, FlowTest
from studio.flow.models import Flow

from .runner import FlowFile, TestOutcome, run_test

MAX_EXPECTED_CHARS = 20_000  # larger outputs are checked by status only


def _has_artifact(value: Any) -> bool:
    """Files a run wrote (images, audio) live in its run folder: their paths differ every run."""
    if isinstance(value, dict):
        return bool(value.get("artifact")) or any(_has_artifact(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_artifact(v) for v in value)
    return False


def expectations(flow: Flow, document: dict[str, Any]) -> list[Assertion]:
    """Assertions that hold for this run: statuses, and the outputs of the flow's end nodes."""
    nodes = document.get("nodes") or {}
    sources = {w.source.node for w in flow.wires}
    out: list[Assertion] = []
    for node in flow.nodes:
        entry = nodes.get(node.name)
        if not entry or entry.get("status") not in ("succeeded", "failed", "waiting", "skipped"):
            continue
        out.append(Assertion(kind="status", node=node.name, values={"status": entry["status"]}))
        output = entry.get("output")
        if node.id in sources or entry.get("status") != "succeeded" or output is None or _has_artifact(output):
            continue
        if len(json.dumps(output, ensure_ascii=False, default=str)) <= MAX_EXPECTED_CHARS:
            out.append(Assertion(kind="equals", node=node.name, values={"expected": output}))
    return out


async def record_new_test(item: FlowFile, name: str, payload: Any, *, base_url: str | None = None,
                          connection: str | None = None, trust: bool = False) -> tuple[FlowTest, TestOutcome]:
    """A new replayed test of `item` with its cassette recorded; the outcome is the check by
    replay (it passes unless the flow is not deterministic given its recorded answers)."""
    test = FlowTest(name=name, payload=payload if payload is not None else {})
    recorded = await run_test(item, test, record=True, base_url=base_url, connection=connection, trust=trust)
    if recorded.status == "error" or recorded.document is None:
        return test, recorded
    test = test.model_copy(update={"assertions": expectations(item.flow, recorded.document)})
    flow = item.flow.model_copy(update={"tests": [*[t for t in item.flow.tests if t.name != name], test]})
    replayed = await run_test(FlowFile(item.path, flow, item.data), test, trust=trust)
    return test, replayed
