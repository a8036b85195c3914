"""Asking before an imported flow does anything on this machine. Opening a flow is reading data;
only running it can start a local process (a local MCP server's command), read a file outside its
folder, contact another host (a remote MCP server) or open a port (a webhook trigger). Before the
first run of such a flow that was not made here, the user sees exactly that — program and argument
list, path, host, method and path — from the one analysis every runner uses
(studio/flow/capabilities.py), and chooses "Trust and run" or "Cancel". The choice to trust is
remembered by the file's hash (TrustStore), so a changed file asks again."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qtpy.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.credentials.trust import TrustStore
from studio.flow.capabilities import FILE, HOST, PORT, PROCESS, analyse, needs_trust
from studio.flow.models import Flow

TRUST_BUTTON = "Trust and run"
CANCEL_BUTTON = "Cancel"
KIND_WORDS = {PROCESS: "starts a process", PORT: "opens a local port", FILE: "reads a file", HOST: "connects to"}


@dataclass
class TrustItem:
    """One thing a flow would do: a process (program + args), a listening endpoint, a file read
    outside its folder or a host contacted."""

    node_name: str
    kind: str  # "process" | "port" | "file" | "host"
    summary: str
    program: str = ""
    args: list[str] = field(default_factory=list)
    endpoint: str = ""

    @property
    def command_line(self) -> str:
        return shlex.join([self.program, *self.args]) if self.program else ""


def trust_items(flow: Flow, catalog: Any = None, flow_dir: str | Path | None = None) -> list[TrustItem]:
    """What `flow` would do, one item per capability of its enabled nodes, with the exact values
    from the file (a program and its arguments are always written out; a host written with an
    expression after it is shown as written too)."""
    items: list[TrustItem] = []
    for cap in analyse(flow, catalog, flow_dir).items:
        if cap.kind == PROCESS:
            items.append(TrustItem(cap.node_name, PROCESS, f"{cap.node_title}: starts a local process",
                                   program=cap.command, args=list(cap.args)))
        elif cap.kind == PORT:
            items.append(TrustItem(cap.node_name, PORT, f"{cap.node_title}: opens a local port and accepts "
                                   "HTTP requests", endpoint=f"{cap.target} on 127.0.0.1"))
        else:
            items.append(TrustItem(cap.node_name, cap.kind, cap.sentence(), endpoint=cap.target))
    return items


class TrustDialog(QDialog):
    """Lists every process and port the flow would start/open; Cancel is the default button."""

    def __init__(self, flow: Flow, catalog: Any = None, parent: QWidget | None = None,
                 flow_dir: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Trust this flow?")
        self.setModal(True)
        self.items = trust_items(flow, catalog, flow_dir)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>{_html(flow.name)}</b> was not created on this computer. Running it would do the "
            "following here, with your permissions. Only trust flows from people you trust; "
            "nothing has run yet.")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Node", "Does", "Program / path / host / endpoint", "Arguments"])
        self.tree.setRootIsDecorated(True)
        for item in self.items:
            what = KIND_WORDS.get(item.kind, "something")
            row = QTreeWidgetItem([item.node_name, what, item.program or item.endpoint or item.summary,
                                   item.command_line or ""])
            row.setToolTip(3, item.command_line)
            for i, arg in enumerate(item.args):  # each argument exactly as it will be passed
                QTreeWidgetItem(row, ["", f"argument {i + 1}", arg, ""])
            self.tree.addTopLevelItem(row)
            row.setExpanded(True)
        self.tree.setColumnWidth(0, 150)
        self.tree.setColumnWidth(1, 110)
        self.tree.setColumnWidth(2, 220)
        layout.addWidget(self.tree, 1)
        note = QLabel("Programs run directly (never through a shell), exactly as listed: a flow cannot "
                      "compute a program or a host from data. Files are read and hosts contacted only as "
                      "listed. Your choice is remembered for this exact file; if the file changes you are "
                      "asked again.")
        note.setWordWrap(True)
        layout.addWidget(note)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton(CANCEL_BUTTON)
        self.trust_button = QPushButton(TRUST_BUTTON)
        self.cancel_button.setDefault(True)
        self.cancel_button.setAutoDefault(True)
        self.trust_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.trust_button.clicked.connect(self.accept)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.trust_button)
        layout.addLayout(buttons)
        self.resize(760, 360)

    def text(self) -> str:
        """Everything the dialog lists, as plain text (logs, tests, a plain message box)."""
        lines = []
        for item in self.items:
            if item.kind == "process":
                lines.append(f"{item.node_name}: {item.command_line}")
                lines.append(f"  program: {item.program}")
                lines.append(f"  arguments: {item.args!r}")
            elif item.kind in (PORT, FILE, HOST):
                lines.append(f"{item.node_name}: {item.endpoint}")
            else:
                lines.append(f"{item.node_name}: {item.summary}")
        return "\n".join(lines)


def _html(text: str) -> str:
    import html

    return html.escape(text)


def default_decide(dialog: TrustDialog) -> bool:
    """Show the dialog modally; tests replace this to answer without a person."""
    return dialog.exec() == QDialog.DialogCode.Accepted


def ensure_trusted(parent: QWidget | None, flow: Flow, data: bytes | None, *, store: TrustStore | None = None,
                   catalog: Any = None, decide: Callable[[TrustDialog], bool] | None = None,
                   flow_dir: str | Path | None = None) -> bool:
    """True when `flow` may run: it starts nothing, its bytes are the user's own or already
    trusted, or the user chose "Trust and run" just now (then remembered for `data`). `data` is
    the flow file's bytes; None means content with no file to remember (always asks)."""
    if not needs_trust(flow, catalog, flow_dir):
        return True
    store = store if store is not None else TrustStore()
    if data is not None and store.is_trusted(data):
        return True
    dialog = TrustDialog(flow, catalog, parent, flow_dir)
    try:
        allowed = bool((decide or default_decide)(dialog))
    finally:
        dialog.deleteLater()
    if allowed and data is not None:
        store.trust(data)
    return allowed
