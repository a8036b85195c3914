"""The output inspector: what one node produced (JSON tree, text, an agent's steps as a timeline,
image thumbnails, audio, errors with the request that caused them, key redacted) and approval
cards for agent tool calls that wait for a person."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import QSize, Qt, QUrl, Signal
from qtpy.QtGui import QDesktopServices, QGuiApplication, QPainter, QPalette, QPixmap
from qtpy.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .steps_view import StepsView

SECRET_KEY = re.compile(r"(authorization|api[-_]?key|x-api-key|token|secret|password|cookie)", re.I)
SECRET_VALUE = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+[A-Za-z0-9._\-]+)")


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


class ElidedLabel(QLabel):
    """A one-line label that keeps its whole text (text(), the tooltip) but draws it cut with "…"
    when the dock is narrow, so a long node name never pushes the buttons beside it out of view."""

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(40, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(min(super().sizeHint().width(), 240), super().sizeHint().height())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(self.contentsRect(), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                         self.shown_text())

    def shown_text(self) -> str:
        """What is drawn at the current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())


class OutputInspector(QWidget):
    """What one node produced in the last run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.title = ElidedLabel("Select a node to see its output")
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
