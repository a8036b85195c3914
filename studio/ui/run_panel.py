"""The run panel (events with timings and token usage), the output inspector (JSON tree, text,
an agent's steps as a timeline, image thumbnails, audio, errors with the request that caused
them, key redacted) and approval cards for agent tool calls that wait for a person."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import Qt, QTimer, QUrl, Signal
from qtpy.QtGui import QDesktopServices, QGuiApplication, QPixmap
from qtpy.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.engine.steps import StepLog, step_line

from .steps_view import StepsView, live_preview

SECRET_KEY = re.compile(r"(authorization|api[-_]?key|x-api-key|token|secret|password|cookie)", re.I)
SECRET_VALUE = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+[A-Za-z0-9._\-]+)")
EVENT_LABELS = {
    "run_started": "Run started", "node_queued": "Queued", "node_started": "Started", "node_retrying": "Retrying",
    "node_succeeded": "Succeeded", "node_failed": "Failed", "node_skipped": "Skipped", "node_waiting": "Waiting",
    "node_cancelled": "Cancelled", "progress": "Progress", "usage": "Tokens", "tool_call": "Tool call",
    "tool_result": "Tool result", "handoff": "Handoff", "run_finished": "Run finished",
}
FLUSH_MS = 40  # queued engine events reach the list, the badges and the inspector this often
STREAM_PREVIEW_CHARS = 60  # how much of a streaming answer the node shows under its title
STATUS_OF_EVENT = {
    "node_queued": "queued", "node_started": "running", "node_retrying": "running",
    "node_succeeded": "succeeded", "node_failed": "failed", "node_waiting": "waiting",
    "node_skipped": "skipped", "node_cancelled": "cancelled",
}


def redact(value: Any) -> Any:
    """A copy of `value` with anything that looks like a credential replaced."""
    if isinstance(value, dict):
        return {k: ("[redacted]" if isinstance(k, str) and SECRET_KEY.search(k) and v else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return SECRET_VALUE.sub("[redacted]", value)
    return value


def artifacts_in(value: Any) -> list[dict[str, Any]]:
    """Every artifact descriptor ({"artifact": true, path, media_type}) inside an output."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if value.get("artifact") and isinstance(value.get("path"), str):
            found.append(value)
        for v in value.values():
            found += artifacts_in(v)
    elif isinstance(value, list):
        for v in value:
            found += artifacts_in(v)
    return found


def text_of(value: Any) -> str | None:
    """The human-readable text inside common outputs (chat, responses, agents), if any."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("text", "output_text", "final_output", "content", "transcript"):
            if isinstance(value.get(key), str):
                return value[key]
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            msg = choices[0].get("message") or {}
            if isinstance(msg.get("content"), str):
                return msg["content"]
    return None


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


def multimedia_available() -> bool:
    try:
        from qtpy import QtMultimedia  # noqa: F401

        return True
    except Exception:  # noqa: BLE001 - PySide6-Essentials has no QtMultimedia
        return False


class JsonTree(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Key", "Value"])
        self.setColumnWidth(0, 180)
        self.setAlternatingRowColors(True)

    def show_value(self, value: Any) -> None:
        self.clear()
        self._add(self.invisibleRootItem(), "output", value)
        self.expandToDepth(1)

    def _add(self, parent: QTreeWidgetItem, key: str, value: Any) -> None:
        if isinstance(value, dict):
            item = QTreeWidgetItem(parent, [key, f"{{{len(value)}}}"])
            for k, v in value.items():
                self._add(item, str(k), v)
        elif isinstance(value, list):
            item = QTreeWidgetItem(parent, [key, f"[{len(value)}]"])
            for i, v in enumerate(value[:500]):
                self._add(item, str(i), v)
        else:
            shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            item = QTreeWidgetItem(parent, [key, shown[:500]])
            item.setToolTip(1, shown[:4000])


class ImageDialog(QDialog):
    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(Path(path).name)
        layout = QVBoxLayout(self)
        area = QScrollArea()
        label = QLabel()
        label.setPixmap(QPixmap(path))
        area.setWidget(label)
        layout.addWidget(area)
        self.resize(900, 700)


class ApprovalCard(QFrame):
    """One pending tool call: what it wants to do, with Approve and Reject."""

    decided = Signal(str, str, bool)  # node id, request id, approved

    def __init__(self, node_id: str, node_name: str, request: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.node_id = node_id
        self.request = request
        self.request_id = str(request.get("id") or "")
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{node_name}</b> asks to run <b>{request.get('tool') or 'a tool'}</b>")
        layout.addWidget(title)
        if request.get("reason"):
            layout.addWidget(QLabel(f"Reason: {request['reason']}"))
        args = QLabel(json.dumps(redact(request.get("arguments")), indent=2, ensure_ascii=False)[:1500])
        args.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        args.setWordWrap(True)
        layout.addWidget(args)
        row = QHBoxLayout()
        self.approve_button = QPushButton("Approve")
        self.reject_button = QPushButton("Reject")
        self.approve_button.clicked.connect(lambda: self._decide(True))
        self.reject_button.clicked.connect(lambda: self._decide(False))
        self.state = QLabel("")
        self.state.setProperty("role", "muted")
        row.addWidget(self.approve_button)
        row.addWidget(self.reject_button)
        row.addWidget(self.state, 1)
        layout.addLayout(row)

    def _decide(self, approved: bool) -> None:
        self.approve_button.setEnabled(False)
        self.reject_button.setEnabled(False)
        self.state.setText("Approved" if approved else "Rejected")
        self.decided.emit(self.node_id, self.request_id, approved)


class OutputInspector(QWidget):
    """What one node produced in the last run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.title = QLabel("Select a node to see its output")
        self.title.setProperty("role", "heading")
        self.copy_button = QPushButton("Copy JSON")
        self.copy_button.clicked.connect(self.copy_json)
        self.copy_button.setEnabled(False)
        top.addWidget(self.title, 1)
        top.addWidget(self.copy_button)
        layout.addLayout(top)
        self.tabs = QTabWidget()
        self.json_tree = JsonTree()
        self.text_view = QTextBrowser()
        self.steps_view = StepsView()
        self.media = QWidget()
        self.media_layout = QVBoxLayout(self.media)
        self.error_view = QTextBrowser()
        self.approvals = QWidget()
        self.approvals_layout = QVBoxLayout(self.approvals)
        self.approvals_layout.addStretch(1)
        self.tabs.addTab(self.json_tree, "JSON")
        self.tabs.addTab(self.text_view, "Text")
        self.tabs.addTab(self.steps_view, "Steps")
        self.tabs.addTab(self.media, "Media")
        self.tabs.addTab(self.error_view, "Error")
        self.tabs.addTab(self.approvals, "Approvals")
        layout.addWidget(self.tabs, 1)
        self.value: Any = None
        self.cards: list[ApprovalCard] = []
        self.on_decision: Callable[[str, str, bool], None] | None = None
        self.thumbnails: list[QPushButton] = []
        self.play_buttons: list[QPushButton] = []

    def show_result(self, name: str, status: str, output: Any = None, error: Any = None,
                    waiting: list[dict[str, Any]] | None = None, node_id: str = "", usage: dict | None = None,
                    steps: list[dict[str, Any]] | None = None) -> None:
        self.value = output
        tokens = f" · {usage.get('total_tokens')} tokens" if usage and usage.get("total_tokens") else ""
        self.title.setText(f"{name} — {status}{tokens}")
        self.copy_button.setEnabled(output is not None)
        if output is None and not error:
            self.json_tree.clear()
        else:
            self.json_tree.show_value(output)
        text = text_of(output)
        self.text_view.setMarkdown(text) if text else self.text_view.setPlainText(
            json.dumps(output, indent=2, ensure_ascii=False) if output is not None else "")
        self._show_media(output)
        self.show_steps(node_id or name, steps)
        if error:
            safe = redact(error)
            body = f"<h3>{safe.get('message', 'Failed')}</h3>" if isinstance(safe, dict) else ""
            body += "<pre>" + json.dumps(safe, indent=2, ensure_ascii=False).replace("<", "&lt;") + "</pre>"
            self.error_view.setHtml(body)
        else:
            self.error_view.setPlainText("No error.")
        self._show_approvals(node_id, name, waiting or [])
        if waiting:
            self.tabs.setCurrentWidget(self.approvals)
        elif steps and status in ("running", "queued"):  # an agent at work: its timeline
            self.tabs.setCurrentWidget(self.steps_view)
        elif error:
            self.tabs.setCurrentWidget(self.error_view)
        elif artifacts_in(output):
            self.tabs.setCurrentWidget(self.media)
        elif text:
            self.tabs.setCurrentWidget(self.text_view)
        else:
            self.tabs.setCurrentWidget(self.json_tree)

    def clear(self) -> None:
        """Back to "select a node": no output, no error, no approval card (a new flow is shown)."""
        self.value = None
        self.title.setText("Select a node to see its output")
        self.copy_button.setEnabled(False)
        self.json_tree.clear()
        self.text_view.clear()
        self._show_media(None)
        self.show_steps(None, None)
        self.error_view.clear()
        self._show_approvals("", "", [])
        self.tabs.setCurrentWidget(self.json_tree)

    def show_steps(self, owner: Any, steps: list[dict[str, Any]] | None) -> None:
        """The Steps tab: `owner`'s steps (new ones appended while a run goes on)."""
        self.steps_view.show_steps(owner, steps)
        index = self.tabs.indexOf(self.steps_view)
        self.tabs.setTabText(index, f"Steps ({len(steps)})" if steps else "Steps")

    def show_stream(self, name: str, text: str) -> None:
        """A running node's text as it streams in (the whole output replaces it when done)."""
        self.title.setText(f"{name} — streaming")
        self.text_view.setPlainText(text)
        if self.tabs.currentWidget() is not self.text_view:
            self.tabs.setCurrentWidget(self.text_view)
        bar = self.text_view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def copy_json(self) -> None:
        QGuiApplication.clipboard().setText(json.dumps(self.value, indent=2, ensure_ascii=False))

    def _clear(self, layout: QVBoxLayout) -> None:
        while layout.count():
            item = layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def _show_media(self, output: Any) -> None:
        self._clear(self.media_layout)
        self.thumbnails, self.play_buttons = [], []
        for art in artifacts_in(output):
            path, media = art["path"], str(art.get("media_type", ""))
            if media.startswith("image/"):
                button = QPushButton()
                pix = QPixmap(path)
                if not pix.isNull():
                    button.setIcon(pix.scaled(160, 160, Qt.AspectRatioMode.KeepAspectRatio))
                    button.setIconSize(pix.scaled(160, 160, Qt.AspectRatioMode.KeepAspectRatio).size())
                button.setText(Path(path).name)
                button.setToolTip("Open full size")
                button.clicked.connect(lambda _=False, p=path: ImageDialog(p, self).exec())
                self.thumbnails.append(button)
                self.media_layout.addWidget(button)
            elif media.startswith("audio/"):
                button = QPushButton(f"▶ Play {Path(path).name}")
                button.clicked.connect(lambda _=False, p=path: self._play(p))
                self.play_buttons.append(button)
                self.media_layout.addWidget(button)
            else:
                button = QPushButton(f"Open {Path(path).name}")
                button.clicked.connect(lambda _=False, p=path: QDesktopServices.openUrl(QUrl.fromLocalFile(p)))
                self.media_layout.addWidget(button)
        if not self.media_layout.count():
            label = QLabel("No images, audio or files in this output.")
            label.setProperty("role", "muted")
            self.media_layout.addWidget(label)
        self.media_layout.addStretch(1)

    def _play(self, path: str) -> None:
        if multimedia_available():
            from qtpy.QtMultimedia import QAudioOutput, QMediaPlayer

            self._player = QMediaPlayer(self)
            self._audio = QAudioOutput(self)
            self._player.setAudioOutput(self._audio)
            self._player.setSource(QUrl.fromLocalFile(path))
            self._player.play()
        else:  # the system player
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _show_approvals(self, node_id: str, name: str, requests: list[dict[str, Any]]) -> None:
        self._clear(self.approvals_layout)
        self.cards = []
        for request in requests:
            card = ApprovalCard(node_id, name, request if isinstance(request, dict) else {"tool": str(request)})
            card.decided.connect(self._decided)
            self.cards.append(card)
            self.approvals_layout.addWidget(card)
        if not requests:
            label = QLabel("Nothing waits for approval.")
            label.setProperty("role", "muted")
            self.approvals_layout.addWidget(label)
        self.approvals_layout.addStretch(1)

    def _decided(self, node_id: str, request_id: str, approved: bool) -> None:
        if self.on_decision is not None:
            self.on_decision(node_id, request_id, approved)


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

    def reset(self) -> None:
        self._pending.clear()
        self._flush_timer.stop()
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

    def flush(self) -> None:
        """Show every queued event: rows appended in one batch, each node's badge set once with
        its latest status, the inspector redrawn once if it shows one of those nodes."""
        self._flush_timer.stop()
        events, self._pending = self._pending, []
        if events:
            self.on_events(events)

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
                    state["streamed"] = state.get("streamed", "") + ev.data["text"]
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
        self.flush()  # the run's last events before its result
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
