"""Looking at the canvas: fit, pan and zoom, find, where new nodes go, the context menus,
the canvas's shortcuts and its overlays."""

from __future__ import annotations

from typing import Any, Callable

from NodeGraphQt import BaseNode
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from qtpy.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt
from qtpy.QtGui import QAction, QCursor, QKeySequence
from qtpy.QtWidgets import QApplication, QMenu

from .canvas_edit import CLIPBOARD_MIME
from .canvas_overlays import ZOOM_MAX_SCALE, ZOOM_MIN_SCALE, ZOOM_STEP, _FindBox, _InlineRename, _Minimap, _ZoomBar
from .canvas_ports import PLACE_GAP


class CanvasView:
    """View commands of FlowCanvas (mixed in)."""

    def fit(self) -> None:
        """Frame the selected nodes, or the whole flow. The rect comes from the items'
        sceneBoundingRect(): NodeGraphQt's center_on/fit_to_selection group and ungroup every
        node to measure them (4 s for 1000 nodes)."""
        if not self._views:
            return
        selected = self.graph.selected_nodes()
        if selected:
            rect = QRectF()
            for view in selected:
                rect = rect.united(view.view.sceneBoundingRect())
            self._frame(rect)
            if self.graph.get_zoom() > 0.1:  # as NodeGraphQt does: never zoom in on a small selection
                self.viewer.reset_zoom(rect.center())
        else:
            self._fit_all()

    def _fit_all(self) -> None:
        self._frame(self.flow_rect().adjusted(-80, -80, 80, 80))

    def _frame(self, rect: QRectF) -> None:
        """Show `rect` in the viewer (its scene range drives NodeGraphQt's pan and zoom)."""
        if not rect.isEmpty():
            self.viewer._scene_range = QRectF(rect)
            self.viewer._update_scene()  # setSceneRect + fitInView

    def view_of(self, nid: str) -> BaseNode:
        return self._views[nid]

    def doc_id_of(self, graph_node: BaseNode) -> str:
        return self._doc_ids[graph_node.id]

    # -- context menus, shortcuts and overlays ------------------------------------------------------

    def _build_canvas_actions(self) -> None:
        """Keys that work while the canvas (or a widget on it) has focus."""

        def make(text: str, slot: Callable[[], Any], keys: Any, tip: str) -> QAction:
            action = QAction(text, self.viewer)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False: slot())
            self.viewer.addAction(action)
            return action

        self.act_rename = make("Re&name node", self.rename_selected, "F2", "Rename the selected node (F2)")
        self.act_duplicate = make("D&uplicate", self.duplicate_selected, "Ctrl+D",
                                  "Duplicate the selected nodes with the wires between them (Ctrl+D)")
        self.act_toggle_disabled = make("Disable / &Enable", self.toggle_disabled, "D",
                                        "Disable the selected nodes, or enable them again (D)")
        self.act_group = make("&Group selected nodes", lambda: self.add_group(), "Ctrl+G",
                              "Put a coloured frame around the selected nodes; moving it moves them (Ctrl+G)")
        self.act_find = make("&Find node…", self.show_find, "Ctrl+F", "Find a node by name or action (Ctrl+F)")
        self.act_zoom_in = make("Zoom &in", lambda: self.zoom_by(ZOOM_STEP), QKeySequence.StandardKey.ZoomIn, "Zoom in")
        self.act_zoom_out = make("Zoom &out", lambda: self.zoom_by(1 / ZOOM_STEP), QKeySequence.StandardKey.ZoomOut,
                                 "Zoom out")
        self.act_minimap = QAction("&Minimap", self.viewer)
        self.act_minimap.setCheckable(True)
        self.act_minimap.setChecked(True)
        self.act_minimap.toggled.connect(self.set_minimap_visible)

    def _build_overlays(self) -> None:
        self._rename_box = _InlineRename(self)
        self.find_box = _FindBox(self)
        self.zoom_bar = _ZoomBar(self)
        self.minimap = _Minimap(self)
        self._minimap_dirty = True
        self._last_visible = QRectF()
        for signal in (self.document.node_added, self.document.node_removed, self.document.reset,
                       self.document.notes_changed):
            signal.connect(self._mark_minimap)
        self.document.node_changed.connect(self._node_moved_maybe)
        self._place_overlays()

    def _mark_minimap(self, *_args: Any) -> None:
        self._minimap_dirty = True

    def _node_moved_maybe(self, nid: str) -> None:
        """A value edit (typing in a field) leaves the minimap alone; a move or resize redraws it."""
        view = self._views.get(nid)
        if view is not None and self.minimap.rects.get(nid) != view.view.sceneBoundingRect():
            self._minimap_dirty = True

    def _place_overlays(self) -> None:
        w, h = self.viewer.width(), self.viewer.height()
        self.zoom_bar.adjustSize()
        self.zoom_bar.move(w - self.zoom_bar.width() - 10, h - self.zoom_bar.height() - 10)
        self.minimap.move(w - self.minimap.width() - 10, self.zoom_bar.y() - self.minimap.height() - 6)
        self.find_box.move(10, 10)
        for widget in (self.minimap, self.zoom_bar, self.find_box):
            widget.raise_()

    def _after_paint(self) -> None:
        """The viewer painted: the zoom may have changed, or the view moved."""
        text = f"{self.zoom_percent()}%"
        if self.zoom_bar.label.text() != text:
            self.zoom_bar.label.setText(text)
        visible = self.visible_rect()
        if self._minimap_dirty or visible != self._last_visible:
            content, self._minimap_dirty = self._minimap_dirty, False
            self._last_visible = visible
            self.minimap.refresh(content)

    def set_minimap_visible(self, visible: bool) -> None:
        self.minimap.setVisible(visible)
        self.minimap.refresh(True)

    def node_at(self, viewport_pos: QPoint) -> str | None:
        """The document id of the node under a viewport point (its title, body or a port)."""
        for item in self.viewer.items(viewport_pos):
            while item is not None and not isinstance(item, AbstractNodeItem):
                item = item.parentItem()
            if item is not None and item.id in self._doc_ids:
                return self._doc_ids[item.id]
        return None

    def show_context_menu(self, viewport_pos: QPoint) -> QMenu:
        """Right-click: the node's menu over a node, else the canvas menu (non-blocking popup)."""
        self.viewer.RMB_state = False  # NodeGraphQt's own contextMenuEvent would reset it
        nid = self.node_at(viewport_pos)
        menu = self.node_menu(nid) if nid else self.canvas_menu(self.viewer.mapToScene(viewport_pos))
        if self.context_menu is not None:
            self.context_menu.deleteLater()
        self.context_menu = menu
        menu.popup(self.viewer.viewport().mapToGlobal(viewport_pos))
        return menu

    @staticmethod
    def _menu_action(menu: QMenu, text: str, slot: Callable[[], Any], enabled: bool = True, tip: str = "") -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        action.setEnabled(enabled)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        return action

    def node_menu(self, nid: str) -> QMenu:
        """Rename, Duplicate, Disable/Enable, Run from here, Run only, Pin/Unpin, Copy, Delete.
        Right-clicking a node outside the selection selects just that node first."""
        if nid not in self.selected_ids():
            self.select([nid])
        ids = self.selected_ids()
        one = len(ids) == 1
        menu = QMenu(self.viewer)
        menu.setToolTipsVisible(True)
        add = self._menu_action
        add(menu, "Rename…\tF2", lambda: self.start_rename(nid))
        add(menu, "Duplicate\tCtrl+D", self.duplicate_selected)
        all_disabled = all(self.document.node(i).disabled for i in ids)
        add(menu, ("Enable" if all_disabled else "Disable") + "\tD", self.toggle_disabled)
        menu.addSeparator()
        add(menu, "Run from here\tShift+F6", lambda: self.run_from_requested.emit(nid), one,
            "Run this node and everything after it, reusing the last outputs of the nodes before it")
        add(menu, "Run only this node\tF6", lambda: self.run_only_requested.emit(nid), one,
            "Run just this node with the last outputs of the nodes before it")
        pinned, has_output = self.pin_info(nid) if self.pin_info is not None else (False, False)
        if pinned:
            add(menu, "Unpin output", lambda: self.pin_requested.emit(nid, False), one,
                "Later runs run this node again")
        else:
            add(menu, "Pin output", lambda: self.pin_requested.emit(nid, True), one and has_output,
                "Later runs reuse this node's last output instead of running it"
                if has_output else "Run the node first: there is no output to pin yet")
        menu.addSeparator()
        add(menu, "Copy\tCtrl+C", self.copy_selected)
        add(menu, "Delete\tDel", self.delete_selected)
        return menu

    def canvas_menu(self, scene_pos: QPointF) -> QMenu:
        """Add node here, Paste here, Select all, Fit to view, then the window's entries."""
        menu = QMenu(self.viewer)
        add = self._menu_action
        at = QPointF(scene_pos)
        add(menu, "Add node here…\tTab", lambda: self.show_quick_add(at=at))
        mime = QApplication.clipboard().mimeData()
        add(menu, "Paste here\tCtrl+V", lambda: self.paste(at=at),
            mime is not None and mime.hasFormat(CLIPBOARD_MIME))
        add(menu, "Select all\tCtrl+A", self.select_all)
        add(menu, "Fit to view\tF", self.fit)
        if self._context_actions:
            menu.addSeparator()
        for action in self._context_actions:
            menu.addSeparator() if action is None else menu.addAction(action)
        return menu

    # -- find ---------------------------------------------------------------------------------------

    def find_nodes(self, query: str) -> list[str]:
        """Ids of nodes whose name or action title holds every word of `query`; names that
        start with it first."""
        q = " ".join(query.lower().split())
        if not q:
            return []
        found = []
        for index, node in enumerate(self.document.flow.nodes):
            action = self._action(node)
            name = node.name.lower()
            text = f"{name} {(action.title if action else node.action).lower()}"
            if all(w in text for w in q.split()):
                found.append((0 if name.startswith(q) else 1 if q in name else 2, index, node.id))
        return [nid for *_rest, nid in sorted(found)]

    def show_find(self) -> None:
        self._place_overlays()
        self.find_box.open()

    # -- view: centre, pan, zoom ------------------------------------------------------------------------

    def visible_rect(self) -> QRectF:
        return self.viewer.mapToScene(self.viewer.viewport().rect()).boundingRect()

    def flow_rect(self) -> QRectF:
        rect = QRectF()
        for view in self._views.values():
            rect = rect.united(view.view.sceneBoundingRect())
        for item in [*self._notes.values(), *self._groups.values(), *(g.view for g in self._ghosts.values())]:
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def pan_to(self, scene_point: QPointF) -> None:
        """Move the view (same zoom) so `scene_point` is in the middle."""
        scene_range = self.viewer._scene_range
        scene_range.translate(QPointF(scene_point) - scene_range.center())
        self.viewer._update_scene()

    def centre_on(self, nid: str) -> None:
        self.pan_to(self._views[nid].view.sceneBoundingRect().center())

    def zoom_percent(self) -> int:
        return round(self.viewer.transform().m11() * 100)

    def zoom_by(self, factor: float) -> None:
        current = self.viewer.transform().m11()
        wanted = min(ZOOM_MAX_SCALE, max(ZOOM_MIN_SCALE, current * factor))
        if current > 0 and abs(wanted - current) > 1e-6:
            self.viewer.scale(wanted / current, wanted / current)

    def set_zoom_percent(self, percent: float) -> None:
        current = self.viewer.transform().m11()
        if current > 0:
            self.zoom_by(percent / 100 / current)

    # -- placement --------------------------------------------------------------------------------------

    def cursor_scene_pos(self) -> QPointF | None:
        """Where the mouse is on the canvas, or None when it is elsewhere."""
        viewport = self.viewer.viewport()
        if not viewport.isVisible():
            return None
        local = viewport.mapFromGlobal(QCursor.pos())
        return self.viewer.mapToScene(local) if viewport.rect().contains(local) else None

    def _placement(self) -> QPointF:
        """Where a node added without a position goes: at the cursor when it is over the canvas,
        else right of the one selected node, else the middle of the view."""
        at = self.cursor_scene_pos()
        if at is not None:
            return at
        selected = [self._views[i] for i in self.selected_ids() if i in self._views]
        if len(selected) == 1:
            rect = selected[0].view.sceneBoundingRect()
            return QPointF(rect.right() + 2 * PLACE_GAP, rect.top())
        return self.viewer.mapToScene(self.viewer.viewport().rect().center())

    def free_spot(self, nid: str, pos: QPointF) -> tuple[float, float]:
        """The nearest place at or below `pos` where node `nid` overlaps no other node or note."""
        size = self._views[nid].view.sceneBoundingRect().size() if nid in self._views else QSizeF(200, 90)
        return self._free_rect(size, pos, {nid})

    def _free_rect(self, size: QSizeF, pos: QPointF, exclude: set[str] = frozenset()) -> tuple[float, float]:
        others = [v.view.sceneBoundingRect() for k, v in self._views.items() if k not in exclude]
        others += [n.sceneBoundingRect() for n in self._notes.values()]
        cand = QRectF(QPointF(pos), size)
        g = PLACE_GAP / 2
        for _ in range(len(others) + 1):
            hit = next((r for r in others if r.adjusted(-g, -g, g, g).intersects(cand)), None)
            if hit is None:
                break
            cand.moveTop(hit.bottom() + PLACE_GAP)
        return cand.x(), cand.y()
