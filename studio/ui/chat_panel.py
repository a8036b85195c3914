"""The chat panel for flows started by a Chat trigger: each message the user sends runs the flow
once through an injected run function (the main window's runs on the qasync loop), and the reply
node's output comes back as the next turn. The conversation itself lives in
`studio.triggers.chat.ChatSession`, so the panel and headless tests agree on what a turn is."""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any, Callable

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from studio.flow.models import Flow
from studio.triggers.chat import ChatError, ChatSession, RunFlow

log = logging.getLogger(__name__)

ROLE_LABELS = {"welcome": "", "user": "You", "assistant": "Flow", "error": "Error"}


def chat_trigger_of(flow: Flow | None) -> Any:
    if flow is None:
        return None
    return next((n for n in flow.nodes if n.action == "trigger.chat" and not n.disabled), None)


class ChatPanel(QWidget):
    """Transcript, a text box with Send (Enter sends), a busy bar while the flow runs, and errors
    shown inline where the reply would have been."""

    reply_received = Signal(str)
    error_shown = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, run: RunFlow | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self.session: ChatSession | None = None
        self.entries: list[tuple[str, str]] = []  # (role, text) as shown
        self.task: asyncio.Task | None = None
        self.busy = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.header = QLabel("")
        self.header.setWordWrap(True)
        layout.addWidget(self.header)
        self.transcript = QTextBrowser()
        self.transcript.setOpenExternalLinks(False)
        layout.addWidget(self.transcript, 1)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate: a run has no known length
        self.busy_bar.setMaximumHeight(6)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setVisible(False)
        layout.addWidget(self.busy_bar)
        row = QHBoxLayout()
        self.input = QLineEdit()
        self.input.setPlaceholderText("Type a message and press Enter")
        self.input.returnPressed.connect(self.send)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self.send)
        self.new_button = QPushButton("New chat")
        self.new_button.setToolTip("Forget the earlier turns and start again")
        self.new_button.clicked.connect(self.new_chat)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        row.addWidget(self.new_button)
        layout.addLayout(row)
        self.set_flow(None)

    # -- the flow ----------------------------------------------------------------------------------

    def set_flow(self, flow: Flow | None) -> None:
        """Follow the document: edits of the same flow keep the conversation, another flow starts a
        new one. A flow without a Chat trigger disables the input and says why."""
        trigger = chat_trigger_of(flow)
        if flow is None or trigger is None:
            self.session = None
            self.entries.clear()
            self.header.setText("This flow has no Chat trigger. Add one (Triggers → Chat Trigger) to chat with it."
                                if flow is not None else "No flow open.")
            self._render()
            self._update_enabled()
            return
        copy = flow.model_copy(deep=True)
        if self.session is not None and self.session.flow.id == flow.id:
            self.session.flow = copy
        else:
            self.session = ChatSession(copy, self._run)
            self._start_transcript()
        self.header.setText(f"Chat with {flow.name!r}. Each message runs the flow; the reply is the output of "
                            f"{str(trigger.values.get('reply_node') or '(no Reply Node set)')!r}.")
        self._update_enabled()

    def _start_transcript(self) -> None:
        self.entries.clear()
        trigger = chat_trigger_of(self.session.flow) if self.session else None
        welcome = str((trigger.values.get("welcome_message") if trigger else "") or "").strip()
        if welcome:
            self.entries.append(("welcome", welcome))
        self._render()

    def new_chat(self) -> None:
        if self.busy or self.session is None:
            return
        self.session = ChatSession(self.session.flow, self._run)
        self._start_transcript()

    async def _run(self, flow: Flow, payload: Any) -> Any:
        if self.run is None:
            raise ChatError("running flows is not available here")
        return await self.run(flow, payload)

    # -- sending -----------------------------------------------------------------------------------

    def send(self) -> bool:
        """Start one turn with the text box's message; False when there is nothing to send."""
        text = self.input.text().strip()
        if not text or self.busy or self.session is None:
            return False
        self.input.clear()
        self.entries.append(("user", text))
        self._render()
        self._set_busy(True)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            self._set_busy(False)
            self._error(text, "no event loop: the editor was started without qasync")
            return False
        self.task = loop.create_task(self._turn(text))
        return True

    async def _turn(self, text: str) -> str | None:
        session = self.session
        try:
            reply = await session.send(text)
        except ChatError as exc:
            self._error(text, str(exc))
            return None
        except asyncio.CancelledError:
            self._error(text, "cancelled")
            raise
        except Exception as exc:  # noqa: BLE001 - any run failure is shown, never lost
            log.exception("a chat turn failed")
            self._error(text, f"the run failed: {type(exc).__name__}: {exc}")
            return None
        finally:
            self._set_busy(False)
        if session is self.session:
            self.entries.append(("assistant", reply))
            self._render()
        self.reply_received.emit(reply)
        return reply

    def _error(self, text: str, message: str) -> None:
        self.entries.append(("error", message))
        self._render()
        if not self.input.text():
            self.input.setText(text)  # the turn was not kept: sending again is one key away
        self.error_shown.emit(message)

    async def wait(self) -> Any:
        """The current turn's reply (tests, shutdown)."""
        return None if self.task is None else await self.task

    # -- view ------------------------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_bar.setVisible(busy)
        self._update_enabled()
        self.busy_changed.emit(busy)

    def _update_enabled(self) -> None:
        ready = self.session is not None and not self.busy
        self.input.setEnabled(self.session is not None)
        self.send_button.setEnabled(ready)
        self.new_button.setEnabled(ready and bool(self.session and self.session.turns))

    def _render(self) -> None:
        parts = []
        for role, text in self.entries:
            body = html.escape(text).replace("\n", "<br>")
            if role == "welcome":
                parts.append(f"<p style='color:gray'><i>{body}</i></p>")
            elif role == "error":
                parts.append(f"<p style='color:#d9534f'><b>{ROLE_LABELS[role]}:</b> {body}</p>")
            else:
                parts.append(f"<p><b>{ROLE_LABELS[role]}:</b> {body}</p>")
        self.transcript.setHtml("".join(parts))
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())


def controller_runner(controller: Any, flow_path: Callable[[], Any] = lambda: None,
                      before_start: Callable[[Flow], bool] | None = None) -> RunFlow:
    """A run function for the panel that goes through the editor's RunController (the qasync loop,
    live badges, the run panel and the history). `before_start(flow)` may refuse a run (trust)."""

    async def run(flow: Flow, payload: Any) -> Any:
        if before_start is not None and not before_start(flow):
            raise ChatError("the run was not started")
        messages: list[str] = []

        def failed(message: str) -> None:
            messages.append(message)

        controller.failed_to_start.connect(failed)
        try:
            if not controller.start(flow, flow_path=flow_path(), trigger_payload=payload, trigger="chat"):
                raise ChatError(messages[0] if messages else "the run could not start")
            result = await controller.wait()
        finally:
            controller.failed_to_start.disconnect(failed)
        if result is None:
            raise ChatError(messages[0] if messages else "the run could not start")
        return result

    return run
