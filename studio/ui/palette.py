"""The node palette (a searchable tree: Triggers, Actions by category, Agents) and the Tab
quick-add popup. Both search titles, ids, categories and the names the source documents use
("Ask ChatGPT", "Message a Model"), so users find a node by whatever name they know it."""

from __future__ import annotations

from typing import Callable

from qtpy.QtCore import QMimeData, QPoint, Qt, Signal
from qtpy.QtGui import QDrag
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.catalog import Catalog
from studio.catalog.models import Action

MIME_PREFIX = "flow-studio-action:"
ACTION_ROLE = Qt.ItemDataRole.UserRole + 1


def search_text(action: Action) -> str:
    """Everything a user might type to find this action, lower-cased."""
    parts = [action.title, action.id, action.category, action.kind, action.description[:200]]
    parts += [s.name for s in action.sources]
    return " ".join(parts).lower()


def matches(action: Action, query: str) -> bool:
    """True when every word of `query` occurs in the action's searchable text."""
    words = query.lower().split()
    if not words:
        return True
    text = search_text(action)
    return all(w in text for w in words)


def rank(action: Action, query: str) -> int:
    """Lower is better: exact title or source-name hits first, then prefixes, then anywhere."""
    q = query.lower().strip()
    names = [action.title.lower()] + [s.name.lower() for s in action.sources]
    if q in names:
        return 0
    if any(n.startswith(q) for n in names):
        return 1
    if any(q in n for n in names):
        return 2
    return 3


def search_actions(catalog: Catalog, query: str) -> list[Action]:
    found = [a for a in catalog.actions if matches(a, query)]
    return sorted(found, key=lambda a: (rank(a, query), catalog.actions.index(a))) if query.strip() else found


def group_of(action: Action) -> str:
    """Top-level palette group of an action."""
    if action.kind == "trigger":
        return "Triggers"
    if action.kind == "agent":
        return "Agents"
    return "Actions"


def mime_for(action_id: str) -> QMimeData:
    """Text/plain so NodeGraphQt's viewer accepts the drag; the prefix marks it as ours."""
    data = QMimeData()
    data.setText(MIME_PREFIX + action_id)
    return data


def action_from_mime(mime: QMimeData) -> str | None:
    text = mime.text() if mime.hasText() else ""
    return text[len(MIME_PREFIX):] if text.startswith(MIME_PREFIX) else None


def _tooltip(action: Action) -> str:
    names = ", ".join(sorted({s.name for s in action.sources} - {action.title}))
    tip = action.description or action.title
    if names:
        tip += f"\n\nAlso known as: {names}"
    if action.deprecated:
        tip += f"\n\nDeprecated: {action.deprecated}"
    return tip


class _Tree(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setIndentation(14)

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:  # noqa: N802 - Qt's name
        ids = [i.data(0, ACTION_ROLE) for i in items if i.data(0, ACTION_ROLE)]
        return mime_for(ids[0]) if ids else QMimeData()

    def startDrag(self, actions) -> None:  # noqa: N802 - Qt's name
        item = self.currentItem()
        if item is None or not item.data(0, ACTION_ROLE):
            return
        drag = QDrag(self)
        drag.setMimeData(mime_for(item.data(0, ACTION_ROLE)))
        drag.exec(Qt.DropAction.CopyAction)


class Palette(QWidget):
    """Search box over a tree. Double-click (or Enter) adds the node at the canvas centre."""

    activated = Signal(str)  # action id

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search nodes (e.g. Ask ChatGPT)…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree = _Tree()
        self.tree.itemActivated.connect(self._on_activated)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._build()

    def _build(self) -> None:
        groups: dict[str, QTreeWidgetItem] = {}
        categories: dict[str, QTreeWidgetItem] = {}
        for name in ("Triggers", "Actions", "Agents"):
            item = QTreeWidgetItem([name])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            self.tree.addTopLevelItem(item)
            groups[name] = item
        for action in self.catalog.actions:
            group = group_of(action)
            parent = groups[group]
            if group == "Actions" or (group == "Agents" and action.category != "Agents"):
                key = f"{group}/{action.category}"
                if key not in categories:
                    categories[key] = QTreeWidgetItem(parent, [action.category])
                    categories[key].setFlags(Qt.ItemFlag.ItemIsEnabled)
                parent = categories[key]
            item = QTreeWidgetItem(parent, [action.title])
            item.setData(0, ACTION_ROLE, action.id)
            item.setToolTip(0, _tooltip(action))
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            self._items[action.id] = item
        self.tree.expandAll()

    def item_for(self, action_id: str) -> QTreeWidgetItem:
        return self._items[action_id]

    def visible_action_ids(self) -> list[str]:
        return [aid for aid, item in self._items.items() if not item.isHidden()]

    def filter(self, text: str) -> None:
        for action in self.catalog.actions:
            self._items[action.id].setHidden(not matches(action, text))
        # Hide groups with nothing left in them.
        def update(item: QTreeWidgetItem) -> bool:
            if item.data(0, ACTION_ROLE):
                return not item.isHidden()
            visible = any([update(item.child(i)) for i in range(item.childCount())])
            item.setHidden(not visible)
            return visible
        for i in range(self.tree.topLevelItemCount()):
            update(self.tree.topLevelItem(i))
        self.tree.expandAll()

    def _activate_first(self) -> None:
        ids = [a.id for a in search_actions(self.catalog, self.search.text())]
        if ids:
            self.activated.emit(ids[0])

    def _on_activated(self, item: QTreeWidgetItem, _col: int) -> None:
        action_id = item.data(0, ACTION_ROLE)
        if action_id:
            self.activated.emit(action_id)


class QuickAdd(QFrame):
    """The Tab popup: type, arrow, Enter. `chosen(action_id)` fires and the popup closes."""

    chosen = Signal(str)

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.catalog = catalog
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(320)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Add node…")
        self.list = QListWidget()
        self.list.setMinimumHeight(260)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.search.textChanged.connect(self._refill)
        self.search.returnPressed.connect(self._choose)
        self.list.itemActivated.connect(lambda _i: self._choose())
        self.search.installEventFilter(self)
        self._refill("")

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        from qtpy.QtCore import QEvent

        if obj is self.search and event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return True
        return super().eventFilter(obj, event)

    def _refill(self, text: str) -> None:
        self.list.clear()
        for action in search_actions(self.catalog, text):
            item = QListWidgetItem(f"{action.title}   ·  {action.category}")
            item.setData(ACTION_ROLE, action.id)
            item.setToolTip(_tooltip(action))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _choose(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.chosen.emit(item.data(ACTION_ROLE))
        self.close()

    def popup(self, global_pos: QPoint, on_chosen: Callable[[str], None] | None = None) -> None:
        self.search.clear()
        self._refill("")
        self.move(global_pos)
        self.show()
        self.search.setFocus()
