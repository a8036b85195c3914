"""A small catalog of test actions, their handlers and a graph builder for executor tests."""

from __future__ import annotations

import asyncio
from typing import Any

from studio.catalog.catalog import Catalog
from studio.catalog.models import Action, Input, Option, Port, ValueType
from studio.engine import builtin
from studio.engine.context import NodeContext, NodeError, Routed, WaitingForApproval
from studio.engine.handlers import HandlerRegistry
from studio.flow.models import Endpoint, Flow, Node, RetryPolicy, Wire

TIMEOUT = Input(key="timeout_ms", label="Timeout (ms)", type=ValueType.INTEGER, default=10000)


def _action(action_id: str, inputs: list[Input], **extra: Any) -> Action:
    return Action(id=action_id, kind=extra.pop("kind", "action"), title=action_id, category="Test",
                  inputs=inputs, uses_connection=False, **extra)


ACTIONS = [
    _action("trigger.manual", [Input(key="fields", label="Fields", type=ValueType.JSON)], kind="trigger", outputs=[Port(key="output", label="Output")]),
    _action("trigger.webhook", [], kind="trigger"),
    _action("test.echo", [
        Input(key="value", label="Value", type=ValueType.JSON),
        Input(key="text", label="Text", type=ValueType.STRING),
        Input(key="count", label="Item Count", type=ValueType.INTEGER, minimum=0, maximum=100),
        Input(key="ratio", label="Ratio", type=ValueType.NUMBER),
        Input(key="flag", label="Flag", type=ValueType.BOOLEAN),
        Input(key="mode", label="Mode", type=ValueType.ENUM, default="a",
              options=[Option(value="a", label="Alpha"), Option(value="b", label="Beta")]),
        Input(key="words", label="Words", type=ValueType.STRING_LIST),
        Input(key="headers", label="Headers", type=ValueType.KEY_VALUE),
    ]),
    _action("test.sleep", [Input(key="delay_ms", label="Delay (ms)", type=ValueType.INTEGER, default=200), TIMEOUT]),
    _action("test.fail", [
        Input(key="message", label="Message", type=ValueType.STRING, default="boom"),
        Input(key="fail_times", label="Fail Times", type=ValueType.INTEGER, default=1000),
        Input(key="retryable", label="Retryable", type=ValueType.BOOLEAN, default=True),
    ]),
    _action("test.branch", [Input(key="port", label="Port", type=ValueType.STRING, default="yes")],
            outputs=[Port(key="yes", label="Yes"), Port(key="no", label="No")]),
    _action("test.wait", []),
    _action("test.collect", [
        Input(key="items", label="Items", type=ValueType.JSON, port=True, multiple=True),
        Input(key="agent", label="Agent", type=ValueType.JSON, port=True, accepts="agent"),
    ]),
    _action("test.usage", [Input(key="tokens", label="Tokens", type=ValueType.INTEGER, default=10)]),
    _action("test.split", [], outputs=[Port(key="left", label="Left"), Port(key="right", label="Right")]),
    _action("test.artifact", []),
]


class Probe:
    """What the test handlers observed: concurrency, attempts, cancellations."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts: dict[str, int] = {}
        self.cancelled: list[str] = []
        self.contexts: dict[str, NodeContext] = {}


def make_registry(probe: Probe) -> HandlerRegistry:
    registry = HandlerRegistry()
    registry.register("trigger.manual", builtin.manual)
    registry.register("trigger.webhook", builtin.webhook)

    @registry.register("test.echo")
    async def echo(ctx: NodeContext) -> Any:
        probe.contexts[ctx.node.name] = ctx
        if ctx.inputs.get("value") is not None:
            return ctx.inputs["value"]
        return ctx.upstream

    @registry.register("test.sleep")
    async def sleep(ctx: NodeContext) -> Any:
        probe.in_flight += 1
        probe.max_in_flight = max(probe.max_in_flight, probe.in_flight)
        try:
            await asyncio.sleep(ctx.inputs["delay_ms"] / 1000)
        except asyncio.CancelledError:
            probe.cancelled.append(ctx.node.name)
            raise
        finally:
            probe.in_flight -= 1
        return {"slept": ctx.node.name, "upstream": ctx.upstream}

    @registry.register("test.fail")
    async def fail(ctx: NodeContext) -> Any:
        n = probe.attempts[ctx.node.name] = probe.attempts.get(ctx.node.name, 0) + 1
        if n <= ctx.inputs["fail_times"]:
            raise NodeError(f"{ctx.node.name}: {ctx.inputs['message']}", details={"attempt": n},
                            retryable=ctx.inputs["retryable"])
        return {"ok": n}

    @registry.register("test.branch")
    async def branch(ctx: NodeContext) -> Any:
        return Routed(ctx.inputs["port"], ctx.upstream)

    @registry.register("test.wait")
    async def wait(ctx: NodeContext) -> Any:
        raise WaitingForApproval([{"tool": "delete_file", "args": {"path": "x"}}], state={"step": 3})

    @registry.register("test.collect")
    async def collect(ctx: NodeContext) -> Any:
        return {"items": ctx.inputs.get("items"), "agent": ctx.inputs.get("agent"), "upstream": ctx.upstream}

    @registry.register("test.usage")
    async def usage(ctx: NodeContext) -> Any:
        ctx.emit("usage", usage={"prompt_tokens": ctx.inputs["tokens"], "completion_tokens": 1})
        ctx.emit("delta", text="hel")
        ctx.emit("delta", text="lo")
        ctx.emit("something_custom", note="x")
        return "hello"

    @registry.register("test.split")
    async def split(ctx: NodeContext) -> Any:
        return {"left": 1, "right": 2}

    @registry.register("test.artifact")
    async def artifact(ctx: NodeContext) -> Any:
        return {"file": ctx.save_artifact("a b.txt", b"hi", "text/plain")}

    return registry


CATALOG = Catalog(actions=ACTIONS, connections=[])


class Graph:
    """Build flows tersely: node ids are their names."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.wires: list[Wire] = []

    def add(self, name: str, action: str = "test.echo", *, retry: tuple[int, int] | None = None, **fields: Any) -> "Graph":
        values = fields.pop("values", {})
        if retry is not None:
            fields["retry"] = RetryPolicy(max_tries=retry[0], wait_ms=retry[1])
        self.nodes.append(Node(id=name, name=name, action=action, values=values, **fields))
        return self

    def wire(self, source: str, target: str, source_port: str = "output", target_port: str = "in") -> "Graph":
        self.wires.append(Wire(source=Endpoint(node=source, port=source_port), target=Endpoint(node=target, port=target_port)))
        return self

    def chain(self, *names: str) -> "Graph":
        for a, b in zip(names, names[1:]):
            self.wire(a, b)
        return self

    def flow(self) -> Flow:
        return Flow(name="test flow", nodes=self.nodes, wires=self.wires)
