"""What a run produced: each node's result and the run's, as plain JSON-able data, and the
helpers that turn handler values and exceptions into that data."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
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
PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})  # exactly these types (not subclasses) are JSON as they are

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


@dataclass(slots=True)  # no per-instance dict
class NodeResult:
    """One node's result. A run keeps its nodes' results as columns (`NodeResults`) and hands
    out each as a NodeResult whose fields are the columns'; one made here stands alone."""

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


_NAN = float("nan")


class NodeResults(Mapping):
    """Every node's result of one run, by node id in flow order: a `Mapping[str, NodeResult]` kept
    as columns (a list or array per field, by the node's place in the flow; fields most nodes leave
    empty, such as an error, by place only when set), so a 10,000-node run keeps no object per
    node. Each result read is a `NodeResult` made then whose fields read and write the columns: a
    change through it (`result.nodes[x].status = "waiting"`) is the run's.

    A result's node id, name and action are the run's flow's (the flow a run works on does not
    change while it runs; the editor runs a copy)."""

    __slots__ = ("nodes", "index", "status", "output", "started", "finished", "attempts", "inputs", "sparse")

    def __init__(self, nodes: Sequence["Node"], index: Mapping[str, int]) -> None:
        size = len(nodes)
        self.nodes = nodes  # the flow's nodes, in flow order
        self.index = index  # node id -> its place
        self.status: list[str] = ["pending"] * size
        self.output: list[Any] = [None] * size
        self.started = array("d", [_NAN]) * size  # NaN: None (not started)
        self.finished = array("d", [_NAN]) * size
        self.attempts: list[int] = [0] * size
        self.inputs: list[dict[str, Any] | None] = [None] * size
        # Fields most nodes leave empty: field -> {place: value}, only for the places set.
        self.sparse: dict[str, dict[int, Any]] = {"error": {}, "reason": {}, "usage": {}, "waiting": {}, "duration_ms": {}}

    def copy_from(self, other: "NodeResults", places: Any) -> None:
        """Take `other`'s status, output, error and reason at `places` (a loop body's run: what it
        sees of the outer run's nodes; their usage stays the outer run's)."""
        errors, reasons = other.sparse["error"], other.sparse["reason"]
        my_errors, my_reasons = self.sparse["error"], self.sparse["reason"]
        for place in places:
            self.status[place] = other.status[place]
            self.output[place] = other.output[place]
            if place in errors:
                my_errors[place] = errors[place]
            if place in reasons:
                my_reasons[place] = reasons[place]

    def last_succeeded_output(self) -> Any:
        """The output of the succeeded node that finished last (the first of them on a tie): a
        webhook's "last node" answer, read from the columns, per request."""
        best, last = None, float("-inf")
        finished = self.finished
        for place, status in enumerate(self.status):
            if status == "succeeded" and finished[place] > last:  # (NaN, not finished, is never >)
                best, last = place, finished[place]
        return self.output[best] if best is not None else None

    def __getitem__(self, nid: str) -> "NodeResult":
        return _NodeResultView(self, self.index[nid])

    def at(self, place: int) -> "NodeResult":
        return _NodeResultView(self, place)

    def __contains__(self, nid: object) -> bool:
        return nid in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return f"NodeResults({len(self)} nodes)"


def _column(name: str) -> property:
    def get(view: "_NodeResultView") -> Any:
        return getattr(view._of, name)[view._at]

    def put(view: "_NodeResultView", value: Any) -> None:
        getattr(view._of, name)[view._at] = value

    return property(get, put)


def _time_or_none(value: float) -> float | None:
    return None if value != value else value  # NaN: not set


def _time_column(name: str) -> property:
    def get(view: "_NodeResultView") -> float | None:
        return _time_or_none(getattr(view._of, name)[view._at])

    def put(view: "_NodeResultView", value: float | None) -> None:
        getattr(view._of, name)[view._at] = _NAN if value is None else value

    return property(get, put)


def _sparse(name: str, empty: Any = None) -> property:
    def get(view: "_NodeResultView") -> Any:
        return view._of.sparse[name].get(view._at, empty)

    def put(view: "_NodeResultView", value: Any) -> None:
        values = view._of.sparse[name]
        if value is empty:
            values.pop(view._at, None)
        else:
            values[view._at] = value

    return property(get, put)


def _duration(view: "_NodeResultView") -> float | None:
    of, at = view._of, view._at
    if at in of.sparse["duration_ms"]:
        return of.sparse["duration_ms"][at]
    started, finished = _time_or_none(of.started[at]), _time_or_none(of.finished[at])
    if started is None or finished is None:
        return None
    return round((finished - started) * 1_000_000) / 1000  # in ms to the microsecond


def _set_duration(view: "_NodeResultView", value: float | None) -> None:
    view._of.sparse["duration_ms"][view._at] = value


class _NodeResultView(NodeResult):
    """One node's result in a `NodeResults`: each field reads and writes the columns."""

    __slots__ = ("_of", "_at")

    def __init__(self, of: NodeResults, at: int) -> None:  # noqa: D107 - not the dataclass's fields
        self._of = of
        self._at = at

    node_id = property(lambda view: view._of.nodes[view._at].id)
    node_name = property(lambda view: view._of.nodes[view._at].name)
    action = property(lambda view: view._of.nodes[view._at].action)
    status = _column("status")
    output = _column("output")
    attempts = _column("attempts")
    inputs = _column("inputs")
    started_at = _time_column("started")
    finished_at = _time_column("finished")
    duration_ms = property(_duration, _set_duration)
    error = _sparse("error")
    reason = _sparse("reason")
    waiting = _sparse("waiting")
    usage = _sparse("usage", NOTHING)

    def __eq__(self, other: object) -> bool:
        """Equal to any NodeResult with the same fields, read from a run or made alone."""
        if not isinstance(other, NodeResult):
            return NotImplemented
        return _field_values(self) == _field_values(other)

    __hash__ = None  # type: ignore[assignment] - as NodeResult's: it can change

    def __repr__(self) -> str:
        return "NodeResult(" + ", ".join(f"{name}={value!r}" for name, value in
                                         zip(NodeResult.__dataclass_fields__, _field_values(self))) + ")"


def _field_values(result: NodeResult) -> tuple[Any, ...]:
    """A NodeResult's field values in field order, whether it is a run's view or a plain one."""
    return tuple(getattr(result, name) for name in NodeResult.__dataclass_fields__)


@dataclass
class RunResult:
    run_id: str
    flow_id: str
    flow_name: str
    status: str  # succeeded | failed | cancelled | waiting
    started_at: float
    finished_at: float
    nodes: Mapping[str, NodeResult]  # by node id, in flow order (a run's: NodeResults)
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
    if kind in PLAIN_TYPES:
        return value
    # Plain members are taken as they are without a call each (most of a chat completion's).
    if kind is dict:
        return {k if type(k) is str else str(k): v if type(v) in PLAIN_TYPES else jsonable(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in PLAIN_TYPES else jsonable(v) for v in value]
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

