"""Flows as agent tools: an agent calls another flow of the project whose trigger is the Tool Flow
Trigger; the trigger's parameter schema is the tool's, the call's arguments its payload, and the
flow's result (its last nodes' output) goes back to the model."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable

from studio.engine.context import NodeContext, NodeError

TOOL_TRIGGER = "trigger.tool_flow"
MAX_DEPTH = 5  # flows calling flows as tools, at most this deep (stops accidental recursion)
DEFAULT_SCHEMA = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}


def find_flow(name: str, services: dict[str, Any], where: str) -> tuple[Any, Path | None]:
    """The flow named `name`: from the host's loader (`services["load_flow_tool"]`) or, for a
    flow file run from disk, among the `*.flow.json` files next to it (by flow name or file name)."""
    loader = services.get("load_flow_tool")
    if callable(loader):
        flow = loader(name)
        if flow is not None:
            return flow, None
    folder = services.get("flow_dir")
    if not folder:
        raise NodeError(f"{where}: cannot look up flow {name!r} (this run has no project folder)", retryable=False)
    from studio.flow.io import FlowLoadError, load_flow

    wanted = name.strip().lower()
    candidates = sorted(Path(folder).glob("*.flow.json"))
    by_stem = [p for p in candidates if p.name[: -len(".flow.json")].lower() == wanted]
    for path in by_stem + [p for p in candidates if p not in by_stem]:
        try:
            flow = load_flow(path)
        except FlowLoadError:
            continue
        if path in by_stem or flow.name.strip().lower() == wanted:
            return flow, path
    raise NodeError(f"{where}: no flow named {name!r} in {folder}", retryable=False)


def tool_trigger(flow: Any, where: str) -> Any:
    for node in flow.nodes:
        if node.action == TOOL_TRIGGER and not node.disabled:
            return node
    raise NodeError(f"{where}: flow {flow.name!r} has no Tool Flow Trigger, so agents cannot call it",
                    retryable=False)


def flow_tool_schema(cfg: dict[str, Any], services: dict[str, Any], where: str) -> dict[str, Any]:
    flow, _ = find_flow(cfg["flow_name"], services, where)
    schema = tool_trigger(flow, where).values.get("input_schema") or DEFAULT_SCHEMA
    if isinstance(schema, str):
        import json

        schema = json.loads(schema)
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise NodeError(f"{where}: the Tool Parameters of flow {flow.name!r} must be an object schema",
                        retryable=False)
    return dict(schema)


def flow_result(flow: Any, result: Any) -> Any:
    """What a flow "returns": the chosen reply node's output (`settings.reply_node`), else the
    output of its last succeeded nodes (one -> that output, several -> by node name)."""
    reply = flow.settings.get("reply_node") if isinstance(flow.settings, dict) else None
    if reply:
        try:
            return result.output(reply)
        except KeyError:
            pass
    sources = {w.source.node for w in flow.wires}
    leaves = {n.name: result.nodes[n.id].output for n in flow.nodes
              if n.id not in sources and n.action != TOOL_TRIGGER and result.nodes[n.id].status == "succeeded"}
    if len(leaves) == 1:
        return next(iter(leaves.values()))
    return leaves


def _trust_refusal(flow: Any, path: Path | None, services: dict[str, Any]) -> str | None:
    """A flow file called as a tool was never shown to the user: it may do things on this machine
    (studio/flow/capabilities.py) only when the trust store knows the file."""
    from studio.flow.capabilities import needs_trust

    reasons = needs_trust(flow, services.get("catalog"), path.parent if path is not None else None)
    if not reasons:
        return None
    if path is not None:
        try:
            from studio.credentials.trust import TrustStore

            if TrustStore().is_trusted(path.read_bytes()):
                return None
        except (ImportError, OSError):
            pass
    return "; ".join(reasons)


def flow_tool_runner(ctx: NodeContext) -> Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]:
    """`run(tool_config, arguments)`: runs the tool's flow as a run of its own and returns its result
    (or an error object the model can read)."""

    async def run(cfg: dict[str, Any], arguments: dict[str, Any]) -> Any:
        from studio.engine.executor import run_flow

        where = ctx.node.name
        depth = int(ctx.services.get("flow_tool_depth", 0)) + 1
        if depth > MAX_DEPTH:
            return {"error": f"flow tools call each other more than {MAX_DEPTH} deep; stopped"}
        flow, path = find_flow(cfg["flow_name"], ctx.services, where)
        trigger = tool_trigger(flow, where)
        refusal = _trust_refusal(flow, path, ctx.services)
        if refusal:
            raise NodeError(f"{where}: flow tool {flow.name!r} is not trusted to start things on this machine: "
                            f"{refusal}", retryable=False)
        services = {key: ctx.services[key] for key in ("flow_dir", "load_flow_tool", "agent_function_tools")
                    if key in ctx.services}
        services["flow_tool_depth"] = depth
        if path is not None:
            services["flow_path"] = str(path)
            services["flow_dir"] = str(path.parent)
        ctx.emit("progress", message=f"running flow {flow.name!r} as a tool", flow=flow.name, arguments=arguments)

        def retried(event: Any) -> None:
            """The tool flow's retries, on this node's events: a slow tool says why it is slow."""
            data = event.data or {}
            if event.type == "progress" and isinstance(data.get("retry"), dict):
                ctx.emit("progress", message=f"{flow.name} › {event.node_name}: {data.get('message')}",
                         retry=data["retry"], flow=flow.name)

        result = await run_flow(
            flow, catalog=ctx.services.get("catalog"), registry=ctx.services.get("registry"),
            trigger_payload=arguments, trigger_node=trigger.id, connect=ctx.connect,
            run_dir=ctx.run_dir / ctx.node.id / "flow-tools" / uuid.uuid4().hex, services=services,
            keep_events=False, trusted=True,  # refused above unless it starts nothing or is trusted
            on_event=retried,
        )
        ctx.emit("progress", message=f"flow {flow.name!r} {result.status}", flow=flow.name, status=result.status)
        if result.status == "succeeded":
            return flow_result(flow, result)
        if result.status == "waiting":
            return {"error": f"flow {flow.name!r} stopped to wait for approval, which a flow tool cannot do"}
        message = (result.error or {}).get("message") or result.status
        return {"error": f"flow {flow.name!r} {result.status}: {message}"}

    return run
