"""The run panel: the run's events with timings and token usage on the left, the output
inspector (studio/ui/inspector.py) on the right; node badges and the line under each node follow
the events, batched."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtWidgets import QLabel, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.engine.steps import StepLog, step_line

from .inspector import OutputInspector, artifacts_in, redact, text_of  # noqa: F401 (redact: re-exported)
from .steps_view import live_preview

EVENT_LABELS = {
    "run_started": "Run started", "node_queued": "Queued", "node_started": "Started", "node_retrying": "Retrying",
    "node_succeeded": "Succeeded", "node_failed": "Failed", "node_skipped": "Skipped", "node_waiting": "Waiting",
    "node_cancelled": "Cancelled", "progress": "Progress", "usage": "Tokens", "tool_call": "Tool call",
    "tool_result": "Tool result", "handoff": "Handoff", "run_finished": "Run finished",
}
FLUSH_MS = 25  # queued engine events reach the list, the badges and the inspector this often
# A flush shows queued events in chunks of FLUSH_CHUNK and stops after FLUSH_BUDGET_S; the rest
# follows at the next turn of the Qt loop, so input and painting get theirs in between (the 200
# starts of a 200-request fan-out took 10-13 ms in one flush, then the canvas repainted).
FLUSH_CHUNK = 25
FLUSH_BUDGET_S = 0.004
STREAM_PREVIEW_CHARS = 60  # how much of a streaming answer the node shows under its title
STATUS_OF_EVENT = {
    "node_queued": "queued", "node_started": "running", "node_retrying": "running",
    "node_succeeded": "succeeded", "node_failed": "failed", "node_waiting": "waiting",
    "node_skipped": "skipped", "node_cancelled": "cancelled",
}


def preview_of(text: str) -> str:
    """A node's one-line preview from the event's (possibly cut) JSON preview."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return text
    return preview_from_output(value)


def preview_from_output(value: Any) -> str:
    """A node's one-line preview: the readable text inside an output when there is one."""
    readable = text_of(value)
    if readable:
        return readable
    if isinstance(value, dict) and isinstance(value.get("results"), list) and value["results"]:
        first = value["results"][0]
        if isinstance(first, dict) and "flagged" in first:
            return "flagged" if first["flagged"] else "not flagged"
    arts = artifacts_in(value)
    if arts:
        return ", ".join(Path(a["path"]).name for a in arts)
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


class RunPanel(QWidget):
    """Event list on the left, the inspector on the right."""

    node_status = Signal(str, str, object)  # node id, status, preview text (or None)
    node_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel("No run yet. Press Run (F5) to run the flow.")
        layout.addWidget(self.summary)
        split = QSplitter()
        self.events = QTreeWidget()
        self.events.setHeaderLabels(["Time", "Node", "Event", "Details"])
        self.events.setRootIsDecorated(False)
        self.events.setUniformRowHeights(True)  # one row height: scrolling thousands of rows stays cheap
        self.events.setColumnWidth(0, 70)
        self.events.setColumnWidth(1, 140)
        self.events.setColumnWidth(2, 100)
        self.events.itemActivated.connect(self._on_item)
        self.events.itemClicked.connect(self._on_item)
        self.inspector = OutputInspector()
        split.addWidget(self.events)
        split.addWidget(self.inspector)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)
        self.started_at: float | None = None
        self.nodes: dict[str, dict[str, Any]] = {}  # node id -> {name, status, output, error, waiting, usage}
        self.tokens = 0
        self.run_status = ""
        self.step_log = StepLog()  # agent steps of the shown run, from its events
        self.current: str | None = None  # the node the inspector shows
        self.current_name: str | None = None
        self.run_id: str | None = None  # the run whose events the panel shows
        self._ignored_runs: set[str] = set()  # runs of a flow no longer shown (after New or Open)
        # Engine events wait here until the next flush: a run of 200 requests sends 800 events
        # in bursts, and handling each alone (a row, a scroll, a badge, the summary) kept the
        # Qt loop busy for 370 ms at a time.
        self._pending: list[Any] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)
        self._rest_timer = QTimer(self)  # the rest of a flush that used up its time
        self._rest_timer.setSingleShot(True)
        self._rest_timer.setInterval(0)
        self._rest_timer.timeout.connect(self.flush)

    def reset(self) -> None:
        self._pending.clear()
        self._flush_timer.stop()
        self._rest_timer.stop()
        self.events.clear()
        self.nodes.clear()
        self.step_log = StepLog()
        self.started_at = None  # the run_started event's time
        self.tokens = 0
        self.run_status = "running"
        self.run_id = None
        self.summary.setText("Running…")
        if self.current is not None:  # the last run's output and approval cards are gone
            self.show_node(self.current, self.current_name)

    def clear(self) -> None:
        """Forget the shown run and node (another flow is shown: New, Open). Events still coming
        from a run of the previous flow (until it ends) are not shown."""
        if self.run_id and self.run_status == "running":
            self._ignored_runs.add(self.run_id)
        self.reset()
        self.run_status = ""
        self.current = self.current_name = None
        self.summary.setText("No run yet. Press Run (F5) to run the flow.")
        self.inspector.clear()

    def refresh(self) -> None:
        """Redraw the inspector for the node it shows (the run's state changed under it)."""
        if self.current is not None:
            self.show_node(self.current, self.current_name)

    def queue_event(self, ev: Any) -> None:
        """Take an engine event now, show it at the next flush (at most FLUSH_MS later)."""
        if ev.run_id in self._ignored_runs:
            return
        self.run_id = ev.run_id
        if ev.type == "run_started":  # also a resumed run, which comes without reset()
            self.run_status = "running"
        self._pending.append(ev)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self, *, everything: bool = False) -> None:
        """Show the queued events, FLUSH_CHUNK at a time: per chunk, rows appended in one batch,
        each node's badge set once with its latest status, the inspector redrawn once if it
        shows one of those nodes. After FLUSH_BUDGET_S the rest waits for the next turn of the
        loop, unless `everything` (the run's end shows its last events before its result)."""
        self._flush_timer.stop()
        self._rest_timer.stop()
        events, self._pending = self._pending, []
        began = time.perf_counter()
        for start in range(0, len(events), FLUSH_CHUNK):
            self.on_events(events[start:start + FLUSH_CHUNK])
            rest = start + FLUSH_CHUNK
            if rest < len(events) and not everything and time.perf_counter() - began > FLUSH_BUDGET_S:
                self._pending[:0] = events[rest:]  # before anything queued meanwhile
                self._rest_timer.start()
                return

    def on_event(self, ev: Any) -> None:
        """Show one event now."""
        self.on_events([ev])

    def on_events(self, events: list[Any]) -> None:
        events = [ev for ev in events if ev.run_id not in self._ignored_runs]
        if events:
            self.run_id = events[-1].run_id
        items: list[QTreeWidgetItem] = []
        badges: dict[str, list[Any]] = {}  # node id -> [latest status, latest preview or None]
        streamed: set[str] = set()  # nodes whose streamed text grew in this batch
        stepped: set[str] = set()  # nodes with new agent steps in this batch
        for ev in events:
            if ev.type == "delta":
                if ev.node_id and isinstance((ev.data or {}).get("text"), str):
                    state = self.nodes.setdefault(ev.node_id, {"name": ev.node_name, "status": "running", "usage": {}})
                    before = "" if ev.data.get("restart") else state.get("streamed", "")  # a broken stream tried again
                    state["streamed"] = before + ev.data["text"]
                    streamed.add(ev.node_id)
                continue  # no row per piece; the text shows on the node and in the inspector
            item = self._record(ev, badges, stepped)
            items.append(item)
        for nid in streamed - set(badges):
            tail = " ".join(self.nodes[nid]["streamed"].split())[-STREAM_PREVIEW_CHARS:]
            badges[nid] = [self.nodes[nid].get("status") or "running", "…" + tail if tail else None]
        if items:
            self.events.addTopLevelItems(items)
            self.events.scrollToBottom()
        for nid, (status, preview) in badges.items():
            self.node_status.emit(nid, status, preview)
        if self.current in badges:
            state = self.nodes.get(self.current) or {}
            if self.current in streamed and state.get("status") == "running":
                self.inspector.show_stream(state.get("name") or "", state.get("streamed", ""))
                self.inspector.show_steps(self.current, state.get("steps"))
            else:
                self.show_node(self.current)
        elif self.current in stepped:
            self.inspector.show_steps(self.current, (self.nodes.get(self.current) or {}).get("steps"))
        if items:
            self._summarise()

    def _record(self, ev: Any, badges: dict[str, list[Any]], stepped: set[str]) -> QTreeWidgetItem:
        """Fold one event into the run's state; its row for the list."""
        if self.started_at is None or ev.type == "run_started":
            self.started_at = ev.ts
        if ev.type == "run_started":
            self.run_status = "running"
        data = ev.data or {}
        details = ""
        step = self.step_log.add(ev) if ev.node_id else None
        if ev.node_id:
            state = self.nodes.setdefault(ev.node_id, {"name": ev.node_name, "status": "", "usage": {}})
            if step is not None:  # an agent's step: its timeline, and the line under the node
                state.setdefault("steps", []).append(step)
                stepped.add(ev.node_id)
                if state.get("status") == "running" and not ev.type.startswith("node_"):
                    badges.setdefault(ev.node_id, ["running", None])[1] = live_preview(state["steps"])
            status = STATUS_OF_EVENT.get(ev.type)
            if status:
                state["status"] = status
                if status != "waiting":  # its approval requests were answered (or never came)
                    state.pop("waiting", None)
            if ev.type == "node_started":  # a new attempt (or a resumed run): the last one's results go
                for key in ("output", "error", "streamed"):
                    state.pop(key, None)
                state["usage"] = {}
            elif ev.type in ("node_succeeded", "node_failed", "node_waiting") and isinstance(data.get("usage"), dict):
                state["usage"] = data["usage"]
            preview = None
            if ev.type == "node_succeeded":
                preview = preview_of(data.get("output_preview", ""))
                state["preview"] = preview
            elif ev.type == "node_failed":
                state["error"] = data.get("error")
                preview = (data.get("error") or {}).get("message", "failed")
            elif ev.type == "node_waiting":
                state["waiting"] = data.get("requests") or []
                preview = f"{len(state['waiting'])} approval(s) pending"
            elif ev.type == "node_skipped":
                preview = data.get("reason", "")
            if status:
                badge = badges.setdefault(ev.node_id, [status, None])
                badge[0] = status
                if preview is not None:  # None leaves the shown preview as it is
                    badge[1] = preview
        if ev.type == "usage":
            usage = data.get("usage") or {}
            total = usage.get("total_tokens") or 0
            self.tokens += int(total) if isinstance(total, (int, float)) else 0
            details = f"{usage.get('prompt_tokens', usage.get('input_tokens', '?'))} in / " \
                      f"{usage.get('completion_tokens', usage.get('output_tokens', '?'))} out"
        elif "duration_ms" in data and data["duration_ms"] is not None:
            details = f"{data['duration_ms']:.0f} ms"
            usage = data.get("usage") or {}
            if usage.get("total_tokens"):
                details += f" · {usage['total_tokens']} tokens"
        if ev.type == "node_failed":
            details = (data.get("error") or {}).get("message", details)
        elif ev.type == "node_skipped":
            details = data.get("reason", "")
        elif ev.type == "node_retrying":
            details = f"attempt {data.get('attempt')} of {data.get('max_tries')}"
        elif step is not None and ev.type != "node_waiting":
            details = (step_line(step) or "")[:200]
        elif ev.type in ("progress", "tool_call", "tool_result", "handoff"):
            details = str(data.get("message") or data.get("tool") or data.get("name") or "")[:200]
        elif ev.type == "run_finished":
            details = str(data.get("status", ""))
        elapsed = ev.ts - (self.started_at or ev.ts)
        item = QTreeWidgetItem([f"{elapsed:6.2f} s", ev.node_name or "", EVENT_LABELS.get(ev.type, ev.type), details])
        item.setData(0, Qt.ItemDataRole.UserRole, ev.node_id)
        return item

    def on_finished(self, result: Any) -> None:
        if getattr(result, "run_id", None) in self._ignored_runs:
            self._ignored_runs.discard(result.run_id)  # a run of the flow shown before New or Open
            return
        self.flush(everything=True)  # the run's last events before its result
        self.run_id = getattr(result, "run_id", None) or self.run_id
        self.run_status = result.status
        for nid, node in result.nodes.items():
            state = self.nodes.setdefault(nid, {"name": node.node_name, "usage": {}})
            state.update(status=node.status, output=node.output, error=node.error, usage=node.usage,
                         waiting=(node.waiting or {}).get("requests"))
        total = (result.usage or {}).get("total_tokens")
        if total:
            self.tokens = total
        for nid, node in result.nodes.items():  # e.g. a resume that failed before anything ran
            if node.status == "waiting":
                self.node_status.emit(nid, "waiting", f"{len(self.nodes[nid].get('waiting') or [])} approval(s) pending")
        self._summarise(duration_ms=result.duration_ms)
        waiting = [nid for nid, s in self.nodes.items() if s.get("status") == "waiting"]
        failed = [nid for nid, s in self.nodes.items() if s.get("status") == "failed"]
        focus = (waiting or failed or [None])[0]
        if focus:
            self.show_node(focus)
        else:  # the inspected node's whole output, usage and (no longer) approvals
            self.refresh()

    def _summarise(self, duration_ms: float | None = None) -> None:
        counts: dict[str, int] = {}
        for s in self.nodes.values():
            if s.get("status"):
                counts[s["status"]] = counts.get(s["status"], 0) + 1
        parts = [f"{n} {k}" for k, n in sorted(counts.items())]
        head = "Running" if self.run_status == "running" else f"Run {self.run_status}"
        if duration_ms is not None:
            head += f" in {duration_ms / 1000:.2f} s"
        self.summary.setText(f"{head} · " + ", ".join(parts) + (f" · {self.tokens} tokens" if self.tokens else ""))

    def show_node(self, node_id: str, name: str | None = None) -> bool:
        self.current = node_id
        state = self.nodes.get(node_id)
        self.current_name = (state or {}).get("name") or name
        if state is None:
            self.inspector.show_result(name or "This node", "not run yet")
            return False
        output = state.get("output")
        if output is None and state.get("streamed"):  # the run is not over: what streamed so far
            output = state["streamed"]
        self.inspector.show_result(state.get("name") or name or "", state.get("status", "") or "queued", output,
                                   state.get("error"), state.get("waiting"), node_id, state.get("usage"),
                                   state.get("steps"))
        self.node_chosen.emit(node_id)
        return True

    def _on_item(self, item: QTreeWidgetItem, _col: int) -> None:
        nid = item.data(0, Qt.ItemDataRole.UserRole)
        if nid:
            self.show_node(nid)
