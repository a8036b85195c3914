"""Widgets laid over the canvas: the in-place rename field, Ctrl+F find, the zoom bar and
the minimap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QEvent, QObject, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPixmap
from qtpy.QtWidgets import (
    QFrame,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
)


from .theme import KIND_COLORS

if TYPE_CHECKING:
    from .canvas import FlowCanvas

ZOOM_STEP = 1.2
ZOOM_MIN_SCALE, ZOOM_MAX_SCALE = 0.05, 3.0  # NodeGraphQt's own wheel limits


class _InlineRename(QLineEdit):
    """Rename a node in place (F2, or the node menu's Rename): Enter or leaving the field renames
    it through the document (so expressions reading it follow), Escape cancels."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer)
        self.canvas = canvas
        self.node_id: str | None = None
        self.setObjectName("inline_rename")
        self.hide()
        self.editingFinished.connect(self.commit)

    def start(self, nid: str) -> None:
        view = self.canvas._views[nid].view
        rect = self.canvas.viewer.mapFromScene(view.sceneBoundingRect()).boundingRect()
        self.node_id = nid
        self.setText(self.canvas.document.node(nid).name)
        self.setGeometry(rect.left(), max(0, rect.top() - 2), max(rect.width(), 160), self.sizeHint().height())
        self.show()
        self.raise_()
        self.selectAll()
        self.setFocus()

    def commit(self) -> None:
        nid, self.node_id = self.node_id, None
        if nid is None:
            return
        self.hide()
        if nid in self.canvas._views:
            self.canvas.rename(nid, self.text())
        self.canvas.viewer.setFocus()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.node_id = None
            self.hide()
            self.canvas.viewer.setFocus()
            return
        super().keyPressEvent(event)


class _FindBox(QFrame):
    """Ctrl+F on the canvas: matches node names and action titles as you type; Enter (or a click)
    selects the match and centres the view on it; Escape closes."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer)
        self.canvas = canvas
        self.setObjectName("find_box")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find node (name or action)…")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setMaximumHeight(170)
        layout.addWidget(self.search)
        layout.addWidget(self.results)
        self.setFixedWidth(300)
        self.search.textChanged.connect(self.refill)
        self.search.returnPressed.connect(self.choose)
        self.results.itemActivated.connect(lambda _i: self.choose())
        self.results.itemClicked.connect(lambda _i: self.choose())
        self.search.installEventFilter(self)
        self.hide()

    def open(self) -> None:
        self.refill(self.search.text())
        self.show()
        self.raise_()
        self.search.selectAll()
        self.search.setFocus()

    def refill(self, text: str) -> None:
        self.results.clear()
        for nid in self.canvas.find_nodes(text):
            node = self.canvas.document.node(nid)
            action = self.canvas._action(node)
            item = QListWidgetItem(f"{node.name}   ·  {action.title if action else node.action}")
            item.setData(Qt.ItemDataRole.UserRole, nid)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)
        elif text.strip():
            item = QListWidgetItem("No node matches")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.results.addItem(item)
        rows = min(self.results.count(), 8)
        self.results.setFixedHeight(rows * max(self.results.sizeHintForRow(0), 16) + 2 * self.results.frameWidth())
        self.results.setVisible(bool(text.strip()))
        self.adjustSize()

    def choose(self) -> str | None:
        item = self.results.currentItem()
        nid = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if nid is None:
            return None
        self.canvas.select([nid])
        self.canvas.centre_on(nid)
        self.close_box()
        return nid

    def close_box(self) -> None:
        self.hide()
        self.canvas.viewer.setFocus()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape:
                self.close_box()
                return True
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.results.count():
                row = self.results.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
                self.results.setCurrentRow(max(0, min(self.results.count() - 1, row)))
                return True
        return super().eventFilter(obj, event)


class _ZoomBar(QFrame):
    """−, percent, +, fit: bottom-right of the canvas."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer)
        self.setObjectName("zoom_bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 2, 2, 2)
        row.setSpacing(2)
        self.out_button = QToolButton(text="−", toolTip="Zoom out (Ctrl+-)")
        self.in_button = QToolButton(text="+", toolTip="Zoom in (Ctrl++)")
        self.fit_button = QToolButton(text="Fit", toolTip="Fit the flow in view (F)")
        self.label = QLabel("100%")
        self.label.setObjectName("zoom_percent")
        self.label.setMinimumWidth(44)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setToolTip("Zoom (click to reset to 100%)")
        for w in (self.out_button, self.label, self.in_button, self.fit_button):
            row.addWidget(w)
        self.out_button.clicked.connect(lambda: canvas.zoom_by(1 / ZOOM_STEP))
        self.in_button.clicked.connect(lambda: canvas.zoom_by(ZOOM_STEP))
        self.fit_button.clicked.connect(canvas.fit)
        self.label.mousePressEvent = lambda _e: canvas.set_zoom_percent(100)
        self.adjustSize()


class _Minimap(QGraphicsView):
    """The whole flow, small, over the same scene, with the visible part outlined; click or drag
    to move the view there. Nodes are drawn as plain boxes (no item painting), so it costs little
    on large flows."""

    def __init__(self, canvas: "FlowCanvas") -> None:
        super().__init__(canvas.viewer.scene(), canvas.viewer)
        self.canvas = canvas
        self.setObjectName("minimap")
        self.setFixedSize(180, 110)
        self.setInteractive(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setToolTip("Minimap: click to move the view")
        self._area = QRectF()
        self._flow = QRectF()  # the flow's extent when the boxes were last drawn
        self._boxes: QPixmap | None = None  # the node boxes, drawn again only when the flow changed
        self.rects: dict[str, QRectF] = {}  # node id -> rect drawn

    def refresh(self, content: bool = False) -> None:
        """Follow the main view; `content`: the flow changed (nodes added, moved, removed)."""
        if not self.isVisible():
            return
        if content or self._boxes is None:
            self._flow = self.canvas.flow_rect()
            self._boxes = None
        area = self._flow.united(self.canvas.visible_rect()).adjusted(-40, -40, 40, 40)
        if area != self._area:
            self._area = area
            self._boxes = None
            self.setSceneRect(area)
            self.fitInView(area, Qt.AspectRatioMode.KeepAspectRatio)
        self.viewport().update()

    def _draw_boxes(self) -> QPixmap:
        pixmap = QPixmap(self.viewport().size())
        pixmap.fill(QColor(self.canvas.theme.canvas).darker(115))
        painter = QPainter(pixmap)
        painter.setTransform(self.viewportTransform())
        painter.setPen(Qt.PenStyle.NoPen)
        note = QColor(self.canvas.theme.note)
        note.setAlpha(140)
        painter.setBrush(note)
        for item in self.canvas._notes.values():
            painter.drawRect(item.sceneBoundingRect())
        views, brushes = self.canvas._views, {k: QColor(c) for k, c in KIND_COLORS.items()}
        self.rects = {}
        for node in self.canvas.document.flow.nodes:  # one pass: document.node() per node would be quadratic
            view = views.get(node.id)
            if view is not None:
                action = self.canvas._action(node)
                painter.setBrush(brushes.get(action.kind if action else "action", QColor("#888888")))
                rect = self.rects[node.id] = view.view.sceneBoundingRect()
                painter.drawRect(rect)
        painter.end()
        return pixmap

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        """The cached boxes, then the visible part outlined (a run's badges cost nothing here)."""
        if self._boxes is None or self._boxes.size() != self.viewport().size():
            self._boxes = self._draw_boxes()
        painter = QPainter(self.viewport())
        painter.drawPixmap(0, 0, self._boxes)
        painter.setTransform(self.viewportTransform())
        pen = QPen(QColor("#ffffff"), 0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 255, 255, 30))
        painter.drawRect(self.canvas.visible_rect())
        painter.end()

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.canvas.pan_to(self.mapToScene(event.pos()))

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.canvas.pan_to(self.mapToScene(event.pos()))

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        event.accept()
