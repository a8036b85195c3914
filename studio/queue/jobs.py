"""What a queued run's message holds: the flow document (flow files hold connection names, never
keys), where it came from, which trigger fired with what payload, and the run id the enqueuer
chose. Workers resolve keys from their own credential store or environment."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

QUEUE_NAME = "studio.runs"
TASK_NAME = "studio.run_flow"


@dataclass
class RunJob:
    run_id: str
    flow: dict[str, Any]  # flow_to_dict of the flow as served
    flow_path: str | None  # where it was served from (relative files are read next to it)
    trigger_node: str
    trigger: str  # "webhook" or "schedule"
    payload: Any = None

    def to_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, message: Any) -> RunJob:
        """ValueError names the field that is missing or of the wrong type."""
        if not isinstance(message, dict):
            raise ValueError(f"queued run: expected an object, got {type(message).__name__}")
        for name, kind in (("run_id", str), ("flow", dict), ("trigger_node", str), ("trigger", str)):
            if not isinstance(message.get(name), kind):
                raise ValueError(f"queued run: field {name!r} must be a {kind.__name__}")
        path = message.get("flow_path")
        if path is not None and not isinstance(path, str):
            raise ValueError("queued run: field 'flow_path' must be a string or null")
        return cls(run_id=message["run_id"], flow=message["flow"], flow_path=path,
                   trigger_node=message["trigger_node"], trigger=message["trigger"], payload=message.get("payload"))
