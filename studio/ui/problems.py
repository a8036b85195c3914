"""The problems list: what `check_flow` finds in the document, errors (no trigger yet, a loop, a
bad value) and warnings (an empty required field, a broken stored test), shown instead of refusing
to open the file, so a half-built flow can be reopened or restored after a crash and fixed.
Double-clicking a problem selects its node on the canvas."""

from __future__ import annotations

import logging
import re
from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QLabel, QStyle, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.flow.errors import Problem
from studio.flow.models import Flow

log = logging.getLogger(__name__)

_INDEXED = re.compile(r"^(nodes|wires|notes)\[(\d+)\]")


def node_of(flow: Flow, path: str) -> str | None:
    """The node a problem's JSON path points into: `nodes[i]...` is that node, `wires[i]...` the
    wire's target (or source for a problem with its source end)."""
    m = _INDEXED.match(path or "")
    if not m:
        return None
    kind, index = m.group(1), int(m.group(2))
    if kind == "nodes" and index < len(flow.nodes):
        return flow.nodes[index].id
    if kind == "wires" and index < len(flow.wires):
        wire = flow.wires[index]
        rest = path[m.end():]
        return wire.source.node if rest.startswith(".source") else wire.target.node
    return None


def summary(errors: int, warnings: int) -> str:
    """The line above the list: errors stop a run, warnings do not."""
    if not errors and not warnings:
        return "No problems."
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}: the flow will not run until "
                     f"{'they are' if errors != 1 else 'it is'} fixed")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}: the flow runs, "
                     f"but {'these need' if warnings != 1 else 'this needs'} fixing")
    return "; ".join(parts) + "."


class ProblemsList(QWidget):
    node_selected = Signal(str)  # node id
    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel("No problems.")
        layout.addWidget(self.summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Where", "Problem"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 200)
        self.tree.setWordWrap(True)
        self.tree.itemDoubleClicked.connect(self._activated)
        self.tree.itemActivated.connect(self._activated)
        layout.addWidget(self.tree, 1)
        self.problems: list[Problem] = []

    def validate(self, flow: Flow, catalog: Any, document: Any = None) -> list[Problem]:
        """Check `flow` against the catalog and list what is wrong; never raises. With the
        `document` showing `flow`, its cached problems are used."""
        from studio.flow.validate import check_flow

        try:
            problems = document.problems(catalog) if document is not None else check_flow(flow, catalog)
        except Exception as exc:  # noqa: BLE001 - a validator bug must not take the editor down
            log.exception("validating the flow failed")
            problems = [Problem("", f"the flow could not be checked ({type(exc).__name__}: {exc})")]
        self.set_problems(problems, flow)
        return problems

    def set_problems(self, problems: list[Problem], flow: Flow | None = None) -> None:
        self.problems = list(problems)
        self.tree.clear()
        for problem in self.problems:
            nid = node_of(flow, problem.path) if flow is not None else None
            node = next((n for n in flow.nodes if n.id == nid), None) if flow is not None and nid else None
            where = f"{node.name} ({problem.path})" if node is not None else (problem.path or "flow")
            item = QTreeWidgetItem([where, problem.message])
            warning = not problem.is_error
            item.setIcon(0, self.style().standardIcon(
                QStyle.StandardPixmap.SP_MessageBoxWarning if warning else QStyle.StandardPixmap.SP_MessageBoxCritical))
            item.setToolTip(0, "Warning: the flow runs, but this needs fixing" if warning
                            else "Error: the flow will not run until this is fixed")
            item.setToolTip(1, problem.message)
            item.setData(0, Qt.ItemDataRole.UserRole, nid)
            self.tree.addTopLevelItem(item)
        n = len(self.problems)
        warnings = sum(not p.is_error for p in self.problems)
        self.summary.setText(summary(n - warnings, warnings))
        self.count_changed.emit(n)

    def rows(self) -> list[tuple[str, str]]:
        return [(self.tree.topLevelItem(i).text(0), self.tree.topLevelItem(i).text(1))
                for i in range(self.tree.topLevelItemCount())]

    def node_at(self, row: int) -> str | None:
        item = self.tree.topLevelItem(row)
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        nid = item.data(0, Qt.ItemDataRole.UserRole)
        if nid:
            self.node_selected.emit(nid)
