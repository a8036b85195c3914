"""A node's steps, from the events a run emits: an agent's tool calls with their arguments, tool
results, handoffs, approvals asked and answered, token usage per model call and warnings, and
for any node the retries of its API calls (why, how long it waits, which try comes next).

`StepLog.add(event)` turns one event into a compact step (or None for events that are not
steps); the run service logs every run's (`log_for`), the terminal prints a line per step, and
each node's list goes into the result document, run.json and the run history (`steps`); the
editor's run panel keeps its own log to show them live. Only secrets are redacted (API keys, Authorization values)."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from studio.engine.events import HANDLER_EVENT_TYPES
from studio.logs import redact_text

TEXT_LIMIT = 200  # characters of a printed value (arguments, a tool's output)
OUTPUT_LIMIT = 2000  # characters of a tool's output kept in a step


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _compact(value: Any, limit: int = TEXT_LIMIT) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return _clip(redact_text(text), limit)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


STEP_EVENT_TYPES: frozenset[str] = HANDLER_EVENT_TYPES | {"node_waiting", "run_started"}
"""The events a step can come from (and `run_started`, which sets the time steps count from): a
run with no other listener builds only these."""


class StepLog:
    """The steps of one run, per node name, in the order their events came."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.by_node: dict[str, list[dict[str, Any]]] = {}
        self._tools: dict[tuple[str, str], str] = {}  # (node, call id) -> tool name
        self._by_seq: dict[int, dict[str, Any]] = {}  # event seq -> its step

    def add(self, event: Any) -> dict[str, Any] | None:
        """The step of `event` (None if it is not one), kept once: the run service and a
        terminal's progress lines may both hand over the same event."""
        if self.started is None:
            self.started = event.ts
        if event.node_name is None or event.type not in STEP_EVENT_TYPES:
            return None  # a node's start or end, a queue entry: never a step
        seq = getattr(event, "seq", None)
        if seq is not None and seq in self._by_seq:
            return self._by_seq[seq]
        step = self._step(event.node_name, event.type, dict(event.data or {}))
        if step is None:
            return None
        step = {"type": step.pop("type"), "t": round(max(0.0, event.ts - self.started), 3), **step}
        step = _redacted({k: v for k, v in step.items() if v is not None})
        self.by_node.setdefault(event.node_name, []).append(step)
        if seq is not None:
            self._by_seq[seq] = step
        return step

    def _step(self, node: str, kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "tool_call":
            call_id = data.get("call_id")
            if call_id:
                self._tools[(node, str(call_id))] = str(data.get("tool"))
            return {"type": "tool_call", "agent": data.get("agent"), "tool": data.get("tool"), "call_id": call_id,
                    "arguments": data.get("arguments")}
        if kind == "tool_result":
            call_id = data.get("call_id")
            output = data.get("output")
            step = {"type": "tool_result", "agent": data.get("agent"),
                    "tool": data.get("tool") or self._tools.get((node, str(call_id))), "call_id": call_id,
                    "ok": data.get("ok", True) is not False,
                    "output": output if isinstance(output, str) and len(output) <= OUTPUT_LIMIT
                    else _compact(output, OUTPUT_LIMIT) if output is not None else None}
            if data.get("error"):
                step["error"] = data["error"]
            return step
        if kind == "handoff":
            return {"type": "handoff", "from": data.get("from_agent"), "to": data.get("to_agent")}
        if kind == "usage" and ("model" in data or "agent" in data):  # one model call of an agent
            usage = data.get("usage") or {}
            return {"type": "model_call", "agent": data.get("agent"), "model": data.get("model"),
                    "response_id": data.get("response_id"), "input_tokens": usage.get("input_tokens"),
                    "output_tokens": usage.get("output_tokens"), "total_tokens": usage.get("total_tokens")}
        if kind == "node_waiting":
            requests = [r for r in data.get("requests") or [] if isinstance(r, dict)]
            if not requests:
                return None
            return {"type": "approval_requested", "requests": requests}
        if kind == "progress" and data.get("kind") == "approval":
            if data.get("id") and data.get("tool"):
                self._tools[(node, str(data["id"]))] = str(data["tool"])
            return {"type": "approval", "id": data.get("id"), "tool": data.get("tool"),
                    "approved": bool(data.get("approved")), "message": data.get("message")}
        if kind == "progress" and data.get("kind") == "warning":
            return {"type": "warning", "message": data.get("message")}
        if kind == "progress" and isinstance(data.get("retry"), dict):  # the client tries a call again
            return {"type": "retry", "message": data.get("message"), **data["retry"]}
        return None

    def steps(self, node_name: str) -> list[dict[str, Any]] | None:
        return self.by_node.get(node_name) or None


def _text_of(output: Any) -> Any:
    """An MCP tool's output is a content part, or a list of them, as JSON: its text reads better."""
    value = output
    if isinstance(output, str) and output[:1] in "[{":
        try:
            value = json.loads(output)
        except ValueError:
            return output
    parts = value if isinstance(value, list) else [value]
    if parts and all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in parts):
        return " ".join(p["text"] for p in parts)
    return output


def step_line(step: dict[str, Any]) -> str | None:
    """One progress line for a step: `tool call add {"a": 19, "b": 23}`, `tool result add: sum=42`."""
    kind = step.get("type")
    if kind == "tool_call":
        return f"tool call {step.get('tool')} {_compact(step.get('arguments'))}".rstrip()
    if kind == "tool_result":
        if not step.get("ok", True):
            return f"tool call {step.get('tool')} failed: {_compact(step.get('error') or step.get('output'))}"
        return f"tool result {step.get('tool')}: {_compact(_text_of(step.get('output')))}"
    if kind == "handoff":
        return f"handoff {step.get('from')} -> {step.get('to')}"
    if kind == "model_call":
        who = f" ({step['agent']})" if step.get("agent") else ""
        return (f"model call {step.get('model') or ''}{who}: {step.get('input_tokens', 0)} in + "
                f"{step.get('output_tokens', 0)} out = {step.get('total_tokens', 0)} tokens")
    if kind == "approval_requested":
        return "; ".join(f"approval requested {r.get('id')}: {r.get('tool')} {_compact(r.get('arguments'))}"
                         for r in step.get("requests") or [])
    if kind == "approval":
        text = f"approval {step.get('id')} ({step.get('tool')}): {'approved' if step.get('approved') else 'rejected'}"
        return text + (f": {_compact(step['message'])}" if step.get("message") else "")
    if kind == "warning":
        return f"warning: {_compact(step.get('message'), 400)}"
    if kind == "retry":
        return _compact(step.get("message"), 400)
    return None


# The step logs of the runs this process runs, by run id, fed by the run service
# (studio/runs/service.py) for every run. Only the most recent MAX_LOGS are kept: an editor or
# `studio serve` runs many flows, and a run's steps are written to its history and record as it
# ends.
MAX_LOGS = 256
_LOGS: "OrderedDict[str, StepLog]" = OrderedDict()


def log_for(run_id: str) -> StepLog:
    log = _LOGS.get(run_id)
    if log is None:
        log = _LOGS[run_id] = StepLog()
        while len(_LOGS) > MAX_LOGS:
            _LOGS.popitem(last=False)
    else:
        _LOGS.move_to_end(run_id)
    return log


def steps_of(run_id: str, node_name: str) -> list[dict[str, Any]] | None:
    log = _LOGS.get(run_id)
    return log.steps(node_name) if log is not None else None


def forget(run_id: str) -> None:
    """Drop a run's log."""
    _LOGS.pop(run_id, None)
