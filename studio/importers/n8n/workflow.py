"""Reading an n8n workflow export: telling it apart from other JSON, and its nodes as plain
records whatever shape a hand-edited or truncated file gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class NotAnN8nWorkflow(ValueError):
    """The input is not an n8n workflow; the message says what was expected."""


@dataclass
class N8nNode:
    name: str
    type: str
    type_version: float
    parameters: dict[str, Any]
    position: tuple[float, float]
    disabled: bool = False
    credentials: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    on_error: str = "stop"  # stop / continue / route
    max_tries: int = 1
    wait_ms: int = 1000

    @property
    def short_type(self) -> str:
        """`n8n-nodes-base.if` -> `if`, `@n8n/n8n-nodes-langchain.agent` -> `agent`."""
        return self.type.rsplit(".", 1)[-1]

    def param(self, key: str, default: Any = None) -> Any:
        """A parameter, with n8n's default for the keys a file omits; `a.b` reads into collections."""
        value: Any = self.parameters
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)) and value == value and abs(value) < 1e12:
        return float(value)
    return default


def _int(value: Any, default: int, lo: int, hi: int) -> int:
    number = _number(value, default)
    return int(min(max(number, lo), hi))


def parse_node(raw: dict[str, Any], index: int) -> N8nNode:
    position = raw.get("position")
    x = y = 0.0
    if isinstance(position, (list, tuple)) and len(position) >= 2:
        x, y = _number(position[0], 0.0), _number(position[1], 0.0)
    name = raw.get("name")
    parameters = raw.get("parameters")
    credentials = raw.get("credentials")
    on_error = "stop"
    if raw.get("onError") == "continueRegularOutput" or raw.get("continueOnFail") is True:
        on_error = "continue"
    elif raw.get("onError") == "continueErrorOutput":
        on_error = "route"
    retry = raw.get("retryOnFail") is True
    return N8nNode(
        name=name if isinstance(name, str) and name.strip() else f"Node {index + 1}",
        type=raw["type"] if isinstance(raw.get("type"), str) else "",
        type_version=_number(raw.get("typeVersion"), 1.0),
        parameters=parameters if isinstance(parameters, dict) else {},
        position=(x, y),
        disabled=raw.get("disabled") is True,
        credentials=credentials if isinstance(credentials, dict) else {},
        notes=raw["notes"] if isinstance(raw.get("notes"), str) else "",
        on_error=on_error,
        max_tries=_int(raw.get("maxTries"), 3, 1, 10) if retry else 1,
        wait_ms=_int(raw.get("waitBetweenTries"), 1000, 0, 600_000) if retry else 1000,
    )


def workflow_of(data: Any) -> dict[str, Any]:
    """The workflow object of an n8n export (a workflow, or a list holding one); raises
    NotAnN8nWorkflow naming what is missing."""
    if isinstance(data, list):
        workflows = [w for w in data if isinstance(w, dict)]
        if len(workflows) != 1:
            raise NotAnN8nWorkflow(f"expected one n8n workflow object, found a list of {len(data)} item(s)")
        data = workflows[0]
    if not isinstance(data, dict):
        raise NotAnN8nWorkflow(f"expected an n8n workflow (a JSON object), found {type(data).__name__}")
    if "format_version" in data and "wires" in data:
        raise NotAnN8nWorkflow("this is a Flow Studio flow already (it has format_version and wires), "
                               "not an n8n workflow")
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        raise NotAnN8nWorkflow("expected an n8n workflow: 'nodes' (a list) is missing")
    if not isinstance(data.get("connections", {}), dict):
        raise NotAnN8nWorkflow("expected an n8n workflow: 'connections' must be an object keyed by node name")
    if nodes and not any(isinstance(n, dict) and isinstance(n.get("type"), str) for n in nodes):
        raise NotAnN8nWorkflow("expected an n8n workflow: no node has a 'type' such as n8n-nodes-base.set")
    if "connections" not in data and not any(isinstance(n, dict) and isinstance(n.get("type"), str)
                                             and "." in n["type"] for n in nodes):
        raise NotAnN8nWorkflow("expected an n8n workflow: 'connections' is missing")
    return data


def connections_of(data: dict[str, Any]) -> list[tuple[str, str, int, str, int]]:
    """Every link as (source name, connection type, output index, target name, input index)."""
    links = []
    conns = data.get("connections")
    for source, by_type in (conns.items() if isinstance(conns, dict) else ()):
        if not isinstance(by_type, dict):
            continue
        for kind, outputs in by_type.items():
            if not isinstance(outputs, list):
                continue
            for out_index, targets in enumerate(outputs):
                for target in targets if isinstance(targets, list) else ():
                    if isinstance(target, dict) and isinstance(target.get("node"), str):
                        index = target.get("index", 0)
                        index = index if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < 100 else 0
                        links.append((str(source), str(kind), out_index, target["node"], index))
    return links
