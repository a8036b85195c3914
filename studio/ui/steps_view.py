"""A node's steps as a timeline (the inspector's Steps tab): one row per tool call, tool result,
handoff, approval asked or answered, model call (with its tokens), warning and retry, in the
order they happened; a row opens onto the step's arguments, output or requests. Rows are
appended as a run goes on, so rows the user opened stay open."""

from __future__ import annotations

import json
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from studio.engine.steps import step_line

VALUE_CHARS = 4000  # of one value shown in a row (the tooltip); the history keeps the step whole
FAILED_COLOR = "#d9534f"


def step_label(step: dict[str, Any]) -> str:
    """The kind of a step, in a word or two."""
    kind = step.get("type")
    if kind == "tool_result" and not step.get("ok", True):
        return "Tool failed"
    if kind == "approval":
        return "Approved" if step.get("approved") else "Rejected"
    return {"tool_call": "Tool call", "tool_result": "Tool result", "handoff": "Handoff",
            "model_call": "Model call", "approval_requested": "Approval asked",
            "warning": "Warning", "retry": "Retry"}.get(str(kind), str(kind))


def step_summary(step: dict[str, Any]) -> str:
    """A step's one line without the kind the label already says ("add {"a": 19}")."""
    text = step_line(step) or ""
    for prefix in ("tool call ", "tool result ", "model call ", "handoff ", "warning: ", "approval "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def live_preview(steps: list[dict[str, Any]]) -> str:
    """The line under a running agent node: how many steps so far and the latest one."""
    return f"step {len(steps)}: {step_line(steps[-1]) or step_label(steps[-1])}"


class StepsView(QTreeWidget):
    """The timeline of one node's steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Time", "Step", "Details"])
        self.setColumnWidth(0, 90)
        self.setColumnWidth(1, 110)
        self.setAlternatingRowColors(True)
        self.steps: list[dict[str, Any]] = []
        self._owner: Any = None  # whose steps are shown (a node id), so a new node starts over

    def show_steps(self, owner: Any, steps: list[dict[str, Any]] | None) -> None:
        """Show `owner`'s steps: rows for steps not shown yet are appended; another owner, or
        a list that is not a continuation of the one shown, is drawn afresh."""
        steps = list(steps or [])
        continues = owner == self._owner and steps[:len(self.steps)] == self.steps
        if not continues:
            self.clear()
            self.steps = []
        self._owner = owner
        for step in steps[len(self.steps):]:
            self.addTopLevelItem(self._item(step))
        self.steps = steps

    @staticmethod
    def _item(step: dict[str, Any]) -> QTreeWidgetItem:
        t = step.get("t")
        item = QTreeWidgetItem([f"{t:6.2f} s" if isinstance(t, (int, float)) else "", step_label(step),
                                step_summary(step)])
        item.setToolTip(2, item.text(2))
        if step.get("type") == "tool_result" and not step.get("ok", True):
            item.setForeground(1, QBrush(QColor(FAILED_COLOR)))
        for key, value in step.items():
            if key in ("type", "t") or value in (None, "", [], {}):
                continue
            line = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            full = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
            child = QTreeWidgetItem(item, ["", key, " ".join(line.split())[:500]])
            child.setToolTip(2, full[:VALUE_CHARS])
            child.setData(2, Qt.ItemDataRole.UserRole, value)
        return item
