"""The main window's layout: docks that give way on small screens (their content scrolls rather
than widening the window), a window that fits the screen it opens on, a View toggle for every
dock, and the layout kept between sessions."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QByteArray, Qt, QTimer
from qtpy.QtWidgets import QDockWidget, QFrame, QMenu, QScrollArea, QWidget

DEFAULT_SIZE = (1440, 900)
LAYOUT_VERSION = 1
SCREEN_MARGIN = 40  # left free around a window on a screen smaller than its default size
CANVAS_SHARE = 0.45  # of the window's width the canvas keeps when the window narrows
DOCK_MIN_WIDTH = 170


def plain_text(text: str) -> str:
    """A menu text without its mnemonic ampersands (`Save &As…` -> `Save As…`; `&&` stays `&`)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


class LayoutMixin:
    """Docks and window layout of MainWindow (mixed in)."""

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        """A closable, movable dock; its content scrolls when the dock is smaller than the content
        wants, so no panel forces the window wider than the screen."""
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower() + "_dock")
        holder = QScrollArea()
        holder.setObjectName(title.lower() + "_scroll")
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setWidget(widget)
        dock.setWidget(holder)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        toggle = dock.toggleViewAction()
        toggle.setStatusTip(f"Show or hide the {title} panel")
        self.addDockWidget(area, dock)
        self.docks.append(dock)
        return dock

    def add_dock_toggles(self, menu: QMenu) -> None:
        """One checkable entry per dock (docks added later, e.g. by a plug-in panel, too)."""
        self._dock_menu = menu
        menu.aboutToShow.connect(self._fill_dock_menu)
        self._fill_dock_menu()

    def _fill_dock_menu(self) -> None:
        menu = self._dock_menu
        present = set(menu.actions())
        for dock in self.findChildren(QDockWidget):
            if dock.toggleViewAction() not in present:
                if dock not in self.docks:
                    self.docks.append(dock)
                menu.addAction(dock.toggleViewAction())

    def fit_to_screen(self) -> None:
        """The default size, or less on a smaller screen: the whole window stays visible."""
        screen = self.screen() if self.screen() is not None else None
        width, height = DEFAULT_SIZE
        if screen is not None:
            free = screen.availableGeometry()
            width = min(width, free.width() - SCREEN_MARGIN if free.width() > 2 * SCREEN_MARGIN else free.width())
            height = min(height, free.height() - SCREEN_MARGIN if free.height() > 2 * SCREEN_MARGIN else free.height())
            self.resize(max(width, 1), max(height, 1))
            frame = self.frameGeometry()
            frame.moveCenter(free.center())
            self.move(max(free.left(), frame.left()), max(free.top(), frame.top()))
        else:
            self.resize(width, height)
        self.size_docks()

    def size_docks(self) -> None:
        """The docks' first-start sizes for the window's size: the canvas keeps most of it."""
        side = 360 if self.width() >= 1200 else max(200, self.width() // 4)
        self.resizeDocks([self.palette_dock, self.panel_dock], [min(250, side), side], Qt.Orientation.Horizontal)
        self.resizeDocks([self.run_dock], [max(140, min(240, self.height() // 4))], Qt.Orientation.Vertical)

    def save_layout(self) -> None:
        """Window size, place and docks into the editor settings (saved on close)."""
        self.settings["window"] = {"geometry": bytes(self.saveGeometry().toBase64()).decode("ascii"),
                                   "state": bytes(self.saveState(LAYOUT_VERSION).toBase64()).decode("ascii")}

    def restore_layout(self) -> bool:
        """The layout of the last session, kept inside the current screen; False when there was
        none (or it could not be read) and the default layout stays."""
        saved = self.settings.get("window")
        if not isinstance(saved, dict):
            return False
        try:
            geometry = QByteArray.fromBase64(str(saved.get("geometry", "")).encode("ascii"))
            state = QByteArray.fromBase64(str(saved.get("state", "")).encode("ascii"))
        except (UnicodeEncodeError, ValueError):
            return False
        restored = bool(geometry) and self.restoreGeometry(geometry)
        restored = (bool(state) and self.restoreState(state, LAYOUT_VERSION)) or restored
        screen = self.screen()
        if restored and screen is not None:
            free = screen.availableGeometry()
            if self.width() > free.width() or self.height() > free.height():
                self.resize(min(self.width(), free.width()), min(self.height(), free.height()))
        return restored

    def reset_layout(self) -> None:
        """View > Reset layout: the docks where they were on first start."""
        if self._default_layout is not None:
            self.restoreState(self._default_layout, LAYOUT_VERSION)
        for dock in self.docks:
            if dock.isFloating():
                dock.setFloating(False)
        self.fit_to_screen()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        QTimer.singleShot(0, self.give_way)  # a layout restored from a larger window

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.give_way()

    def give_way(self) -> None:
        """Docks beside the canvas narrow (down to DOCK_MIN_WIDTH) when the window does, so the
        canvas keeps at least CANVAS_SHARE of it; Qt would otherwise take it all from the canvas."""
        central = self.centralWidget()
        if central is None or central.width() >= self.width() * CANVAS_SHARE:
            return
        side = [d for d in self.docks if d.isVisible() and not d.isFloating()
                and self.dockWidgetArea(d) in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)]
        widths = [d.width() for d in side]
        total = sum(widths)
        if not total:
            return
        excess = int(self.width() * CANVAS_SHARE) - central.width()
        scale = max(0.0, (total - excess) / total)
        self.resizeDocks(side, [max(DOCK_MIN_WIDTH, int(w * scale)) for w in widths], Qt.Orientation.Horizontal)
