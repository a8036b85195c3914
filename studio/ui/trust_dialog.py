"""Asking before an imported flow starts anything on this machine. Opening a flow is reading data;
only running it can start a local process (a local MCP server's command) or open a port (a webhook
trigger). Before the first run of such a flow that was not made here, the user sees exactly what
would start — program and argument list, method and path — and chooses "Trust and run" or
"Cancel". The choice to trust is remembered by the file's hash (TrustStore), so a changed file
asks again."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
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
from studio.flow.models import Flow, Node
from studio.flow.trust import TRUST_RULES, needs_trust

TRUST_BUTTON = "Trust and run"
CANCEL_BUTTON = "Cancel"


@dataclass
class TrustItem:
    """One thing a flow would start: a process (program + args) or a listening endpoint."""

    node_name: str
    kind: str  # "process" | "port" | "other"
    summary: str
    program: str = ""
    args: list[str] = field(default_factory=list)
    endpoint: str = ""

    @property
    def command_line(self) -> str:
        return shlex.join([self.program, *self.args]) if self.program else ""


def _arg_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(a) for a in value]
    return [line for line in str(value).splitlines() if line.strip()]


def trust_items(flow: Flow, catalog: Any = None) -> list[TrustItem]:
    """What `flow` would start, one item per enabled node that needs trust, with the exact values
    from the file (an expression is shown as written: it is only known at run time)."""
    items: list[TrustItem] = []
    for node in flow.nodes:
        if node.disabled or node.action not in TRUST_RULES:
            continue
        items.append(_item(node, catalog))
    return items


def _item(node: Node, catalog: Any) -> TrustItem:
    title = catalog.get(node.action).title if catalog is not None and node.action in catalog else node.action
    if node.action == "agent.add_local_mcp_server":
        program = str(node.values.get("command") or "npx")
        args = _arg_list(node.values.get("args", node.values.get("arguments")))
        return TrustItem(node.name, "process", f"{title}: starts a local process", program=program, args=args)
    if node.action == "trigger.webhook":
        method = str(node.values.get("method") or "POST")
        path = str(node.values.get("path") or "/")
        return TrustItem(node.name, "port", f"{title}: opens a local port and accepts HTTP requests",
                         endpoint=f"{method} {path} on 127.0.0.1")
    return TrustItem(node.name, "other", TRUST_RULES[node.action](node, title))


class TrustDialog(QDialog):
    """Lists every process and port the flow would start/open; Cancel is the default button."""

    def __init__(self, flow: Flow, catalog: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Trust this flow?")
        self.setModal(True)
        self.items = trust_items(flow, catalog)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>{_html(flow.name)}</b> was not created on this computer. Running it would start the "
            "following here, with your permissions. Only trust flows from people you trust; "
            "nothing has run yet.")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Node", "Starts", "Program / endpoint", "Arguments"])
        self.tree.setRootIsDecorated(True)
        for item in self.items:
            what = {"process": "a local process", "port": "a local port"}.get(item.kind, "something")
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
        note = QLabel("Programs run directly (never through a shell). Values written as {{ expressions }} "
                      "are worked out when the flow runs. Your choice is remembered for this exact file; "
                      "if the file changes you are asked again.")
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
            elif item.kind == "port":
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
                   catalog: Any = None, decide: Callable[[TrustDialog], bool] | None = None) -> bool:
    """True when `flow` may run: it starts nothing, its bytes are the user's own or already
    trusted, or the user chose "Trust and run" just now (then remembered for `data`). `data` is
    the flow file's bytes; None means content with no file to remember (always asks)."""
    if not needs_trust(flow, catalog):
        return True
    store = store if store is not None else TrustStore()
    if data is not None and store.is_trusted(data):
        return True
    dialog = TrustDialog(flow, catalog, parent)
    try:
        allowed = bool((decide or default_decide)(dialog))
    finally:
        dialog.deleteLater()
    if allowed and data is not None:
        store.trust(data)
    return allowed
