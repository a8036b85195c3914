"""What building an agent's parts needs from its node (shared by the tools, MCP servers and agents)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from agents import Agent

FlowRunner = Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]


@dataclass
class BuildContext:
    """What building needs from the node: where it is (for messages), the run's services (flow
    tools, secret header values, function tools a host registered) and the flow-tool runner."""

    where: str
    services: dict[str, Any]
    run_flow_tool: FlowRunner | None = None
    emit: Callable[..., None] | None = None
    agents: dict[str, Agent] = field(default_factory=dict)
    approval_tools: set[str] = field(default_factory=set)  # names of human-approval tools (no side effects)
    failed_calls: dict[str, str] = field(default_factory=dict)  # tool call id -> why the tool failed
