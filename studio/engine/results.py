"""What a run produced: each node's result and the run's, as plain JSON-able data, and the
helpers that turn handler values and exceptions into that data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .context import Artifact, NodeError
from .events import NODE_FINAL_STATES, RunEvent
from .expressions import to_text

if TYPE_CHECKING:  # pragma: no cover
    from studio.flow.models import Node

RUN_STATUSES = ("succeeded", "failed", "cancelled", "waiting")
PREVIEW_CHARS = 300
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
_PLAIN = frozenset({str, int, float, bool, type(None)})  # exactly these types (not subclasses) are JSON as they are

# --- results -----------------------------------------------------------------------------------


class _SharedEmpty(dict):
    """An empty dict that refuses changes: the many nodes of a run with no inputs or no token
    usage share one instead of each keeping its own (64 bytes a node, each), and it is still a
    plain dict to JSON, `dict(...)`, `**` and every reader."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("this empty dict is shared by many node results and cannot change")

    __setitem__ = __delitem__ = __ior__ = update = setdefault = pop = popitem = clear = _read_only


NOTHING: dict[str, Any] = _SharedEmpty()  # the inputs or usage of a node that has none


@dataclass(slots=True)  # one per node of every run: no per-instance dict
class NodeResult:
    node_id: str
    node_name: str
    action: str
    status: str = "pending"  # pending, queued, running, then one of NODE_FINAL_STATES
    output: Any = None
    error: dict[str, Any] | None = None
    reason: str | None = None  # why a node was skipped or cancelled
    inputs: dict[str, Any] | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    attempts: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, Any] | None = None  # {"requests": [...], "state": ...} when waiting

    @property
    def final(self) -> bool:
        return self.status in NODE_FINAL_STATES

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "node_name": self.node_name,
            "action": self.action,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "reason": self.reason,
            "inputs": self.inputs,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
            "attempts": self.attempts,
            "usage": dict(self.usage),
            "waiting": self.waiting,
        }


@dataclass
class RunResult:
    run_id: str
    flow_id: str
    flow_name: str
    status: str  # succeeded | failed | cancelled | waiting
    started_at: float
    finished_at: float
    nodes: dict[str, NodeResult]  # by node id, in flow order
    usage: dict[str, int] = field(default_factory=dict)
    error: dict[str, Any] | None = None  # the failure that stopped the run
    pending: list[dict[str, Any]] = field(default_factory=list)  # approval requests when waiting
    trigger: Any = None  # the trigger payload as the flow saw it
    trigger_node: str | None = None
    events: list[RunEvent] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return round((self.finished_at - self.started_at) * 1000, 3)

    def node(self, name_or_id: str) -> NodeResult:
        if name_or_id in self.nodes:
            return self.nodes[name_or_id]
        for result in self.nodes.values():
            if result.node_name == name_or_id:
                return result
        raise KeyError(f"no node {name_or_id!r} in this run")

    def output(self, name_or_id: str) -> Any:
        return self.node(name_or_id).output

    def to_json(self, *, include_events: bool = False) -> dict[str, Any]:
        doc = {
            "run_id": self.run_id,
            "flow_id": self.flow_id,
            "flow_name": self.flow_name,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
            "usage": dict(self.usage),
            "error": self.error,
            "pending": self.pending,
            "trigger": self.trigger,
            "trigger_node": self.trigger_node,
            "nodes": [r.to_json() for r in self.nodes.values()],
        }
        if include_events:
            doc["events"] = [e.to_json() for e in self.events]
        return doc


# --- helpers -----------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A handler's result as plain JSON data (artifacts become their descriptions). Plain JSON
    (most of a chat completion) is recognised by its exact type first: this runs for every
    node's output and every handler event."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, Artifact):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "model_dump") and callable(value.model_dump):
        try:
            return value.model_dump(mode="json")
        except Exception:  # not a pydantic model after all: keep the object
            return value
    return value


def error_object(node: "Node", exc: BaseException) -> dict[str, Any]:
    """The JSON shape of a node failure (what the `error` port and `RunResult` carry)."""
    if isinstance(exc, NodeError):
        message = str(exc) or type(exc).__name__
        details = jsonable(dict(exc.details))
    else:
        text = str(exc)
        message = f"{node.name}: {type(exc).__name__}" + (f": {text}" if text else "")
        details = {}
    return {"message": message, "details": details, "type": type(exc).__name__, "node": node.name}


def add_usage(total: dict[str, int], usage: Any) -> None:
    """Add one call's token usage (Chat `prompt/completion` or Responses `input/output` names)."""
    if not isinstance(usage, dict):
        return
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    overall = usage.get("total_tokens")
    numbers = {}
    for key, value in (("prompt_tokens", prompt), ("completion_tokens", completion), ("total_tokens", overall)):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers[key] = int(value)
    if "total_tokens" not in numbers and ("prompt_tokens" in numbers or "completion_tokens" in numbers):
        numbers["total_tokens"] = numbers.get("prompt_tokens", 0) + numbers.get("completion_tokens", 0)
    for key, value in numbers.items():
        total[key] = total.get(key, 0) + value


def preview(value: Any) -> str:
    text = to_text(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."

