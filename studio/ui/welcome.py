"""The welcome page shown before a flow is open: the example flows, each one click from running
on the simulated connection, plus New and Open."""

from __future__ import annotations

import json
from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget


def example_flows() -> list[tuple[Path, str, str]]:
    """(path, name, description) of every bundled example: flows started by hand without agents
    first (they run on the simulated connection as they are), then agent and tool flows."""
    from studio.resources import examples_dir

    found = []
    for path in sorted(examples_dir().glob("*.flow.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            actions = [str(n.get("action", "")) for n in data.get("nodes", [])]
            rank = (0 if "trigger.manual" in actions else 2) + any(a.startswith("agent.") for a in actions)
            found.append((rank, path, str(data.get("name") or path.stem), str(data.get("description") or "")))
        except (OSError, ValueError, AttributeError):
            continue
    found.sort(key=lambda item: (item[0], item[1].name))
    return [item[1:] for item in found]


class WelcomePage(QScrollArea):
    open_example = Signal(str, bool)  # path, run it now
    new_flow = Signal()
    open_file = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(48, 36, 48, 36)
        layout.setSpacing(12)
        title = QLabel("Flow Studio")
        font = title.font()
        font.setPointSize(22)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        intro = QLabel("Build OpenAI automations from trigger, action and agent nodes, and run them on your "
                       "machine. The examples run offline on the simulated connection — no API key needed.")
        intro.setWordWrap(True)
        intro.setProperty("role", "muted")
        layout.addWidget(intro)
        row = QHBoxLayout()
        new = QPushButton("New flow")
        new.clicked.connect(self.new_flow.emit)
        open_ = QPushButton("Open…")
        open_.clicked.connect(self.open_file.emit)
        row.addWidget(new)
        row.addWidget(open_)
        row.addStretch(1)
        layout.addLayout(row)
        heading = QLabel("Examples")
        heading.setProperty("role", "heading")
        layout.addWidget(heading)
        self.run_buttons: list[QPushButton] = []
        examples = example_flows()
        for path, name, description in examples:
            card = QFrame()
            card.setProperty("role", "card")
            c = QHBoxLayout(card)
            text = QLabel(f"<b>{name}</b><br>{description}")
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.RichText)
            c.addWidget(text, 1)
            open_button = QPushButton("Open")
            open_button.clicked.connect(lambda _=False, p=str(path): self.open_example.emit(p, False))
            run_button = QPushButton("Open and run ▶")
            run_button.setToolTip("Runs on the Simulated (offline) connection")
            run_button.clicked.connect(lambda _=False, p=str(path): self.open_example.emit(p, True))
            self.run_buttons.append(run_button)
            c.addWidget(open_button)
            c.addWidget(run_button)
            layout.addWidget(card)
        if not examples:
            none = QLabel("No example flows were found in this installation.")
            none.setProperty("role", "muted")
            layout.addWidget(none)
        layout.addStretch(1)
        self.setWidget(body)
