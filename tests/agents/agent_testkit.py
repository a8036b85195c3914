"""Helpers for the agent tests: build small flows and run them against the fake OpenAI server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import studio.connectors.openai.agents  # noqa: F401  (registers the agent handlers)
from studio.connectors.openai.client import ClientPool, ConnectionSettings
from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.engine.executor import run_flow
from studio.flow.models import Endpoint, Flow, Node, Wire

MCP_SERVER = Path(__file__).resolve().parents[1] / "fixtures" / "mcp" / "server.py"


def node(action: str, name: str, /, **values: Any) -> Node:
    return Node(action=action, name=name, values=values)


def wire(source: Node, target: Node, port: str = "in", source_port: str = "output") -> Wire:
    return Wire(source=Endpoint(node=source.id, port=source_port), target=Endpoint(node=target.id, port=port))


def flow(name: str, nodes: list[Node], wires: list[Wire], **settings: Any) -> Flow:
    return Flow(name=name, nodes=nodes, wires=wires, settings=settings)


async def run(f: Flow, server: FakeOpenAIServer, *, payload: Any = None, services: dict[str, Any] | None = None,
              run_dir: Path | None = None, **kw: Any):
    pool = ClientPool()
    settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url, max_retries=0)

    async def connect(_name: str | None):
        return await pool.get(settings)

    try:
        # As a runner does after the user trusted the flow; tests of refusals pass trusted=False.
        kw.setdefault("trusted", True)
        return await run_flow(f, trigger_payload=payload, connect=connect, services=services, run_dir=run_dir, **kw)
    finally:
        await pool.aclose()


def responses_requests(server: FakeOpenAIServer) -> list[Any]:
    return [r for r in server.requests if r.api_path == "/responses"]


def events_of(result: Any, kind: str, node_name: str | None = None) -> list[dict[str, Any]]:
    return [e.data for e in result.events if e.type == kind and (node_name is None or e.node_name == node_name)]


def mcp_command() -> list[str]:
    return [sys.executable, str(MCP_SERVER)]
