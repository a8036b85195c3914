"""Running small flows of core nodes through the real executor, catalog and handler registry."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_testkit import Graph  # noqa: E402

from studio.engine.executor import RunResult, run_flow  # noqa: E402


def run(graph: Graph, payload: Any = None, **options: Any) -> RunResult:
    return asyncio.run(run_flow(graph.flow(), trigger_payload=payload, **options))


def start(payload_name: str = "Start") -> Graph:
    return Graph().add(payload_name, "trigger.manual")


__all__ = ["Graph", "run", "start"]
