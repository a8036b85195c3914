"""What a flow would start on this machine when it runs: local processes (a local MCP server's
command) and listening ports (a webhook trigger). A flow file from someone else must not do that
silently, so runners ask for explicit trust (`studio run --trust`, a prompt in the editor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from studio.catalog.catalog import Catalog
    from studio.flow.models import Flow, Node


def _title(node: "Node", catalog: "Catalog | None") -> str:
    if catalog is not None and node.action in catalog:
        return catalog.get(node.action).title
    return node.action


def _local_process(node: "Node", title: str) -> str:
    command = str(node.values.get("command") or "npx")
    args: Any = node.values.get("args", node.values.get("arguments"))
    if isinstance(args, list):
        args = " ".join(str(a) for a in args)
    line = f"{command} {args}".strip() if args else command
    return f"node '{node.name}' ({title}) would start a local process: {line}"


def _listening_port(node: "Node", title: str) -> str:
    path = node.values.get("path")
    where = f" for path {path}" if path else ""
    return f"node '{node.name}' ({title}) would open a local port and accept HTTP requests{where}"


# Action id -> how to describe what it starts. Kept here so the CLI, `studio serve` and the
# editor all agree on what needs trust.
TRUST_RULES: dict[str, Callable[["Node", str], str]] = {
    "agent.add_local_mcp_server": _local_process,
    "trigger.webhook": _listening_port,
}


def needs_trust(flow: "Flow", catalog: "Catalog | None" = None) -> list[str]:
    """One sentence per enabled node that would start a process or open a port; empty if none."""
    reasons = []
    for node in flow.nodes:
        rule = TRUST_RULES.get(node.action)
        if rule is not None and not node.disabled:
            reasons.append(rule(node, _title(node, catalog)))
    return reasons
