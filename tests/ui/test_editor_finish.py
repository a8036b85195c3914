"""The editor's last conventions, driven through real widgets: renames that follow bare node-name
fields, the Chat panel refusing like Run, broken parts drawn and listed, add-next from a port's
"+", dragging a field from the inspector into a property, groups and in-place notes, long names,
and a window that fits a small screen with its layout kept between sessions."""

from __future__ import annotations

from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QApplication

from studio.flow.models import Endpoint, Flow, Node, Wire


def _chat_flow(reply: str = "Answer") -> Flow:
    trigger = Node(action="trigger.chat", name="Chat", values={"reply_node": reply})
    answer = Node(action="chat.create_completion", name="Answer", position={"x": 300, "y": 0},
                  values={"model": "gpt-4o-mini", "messages": "{{ trigger.messages }}"})
    return Flow(name="Chat", nodes=[trigger, answer], settings={"reply_node": reply},
                wires=[Wire(source=Endpoint(node=trigger.id, port="output"), target=Endpoint(node=answer.id, port="in"))])


def test_renaming_a_node_renames_fields_that_name_it(window, qtbot):
    doc = window.document
    flow = _chat_flow()
    doc.load(flow)
    trigger, answer = (n.id for n in flow.nodes)
    window.canvas.select([answer])
    edit = window.panel.name_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "Reply")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert doc.node(answer).name == "Reply"
    assert doc.node(trigger).values["reply_node"] == "Reply"
    assert doc.flow.settings["reply_node"] == "Reply"
    window.refresh_side_panels()
    assert window.problems.problems == []
    window.act_undo.trigger()  # one step back: the name and what names it
    assert doc.node(answer).name == "Answer" and doc.node(trigger).values["reply_node"] == "Answer"
    assert doc.flow.settings["reply_node"] == "Answer"


def test_a_field_that_only_mentions_the_name_is_left_alone(window):
    doc = window.document
    flow = _chat_flow()
    flow.nodes[0].values["welcome_message"] = "Answer"  # plain text, not a node's name field
    doc.load(flow)
    doc.rename_node(flow.nodes[1].id, "Reply")
    assert doc.node(flow.nodes[0].id).values["welcome_message"] == "Answer"


def test_the_chat_panel_refuses_to_run_while_problems_has_errors(window, qtbot, monkeypatch):
    flow = _chat_flow()
    flow.nodes[1].values["temperature"] = 9  # out of range: an error in Problems
    window.document.load(flow)
    window.refresh_side_panels()
    started = []
    monkeypatch.setattr(window.runs, "start", lambda *a, **k: started.append((a, k)) or True)
    panel = window.chat_panel
    window.chat_dock.show()
    window.chat_dock.raise_()
    panel.input.setText("hello")
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not panel.busy, timeout=5000)
    assert started == []
    assert "problem" in panel.transcript.toPlainText().lower()
    assert window.problems_dock.isVisible()
    assert panel.input.text() == "hello"  # not lost: sending again is one key away


# -- window layout --------------------------------------------------------------------------------


def _menu_actions(menu):
    for action in menu.actions():
        yield action
        if action.menu() is not None:
            yield from _menu_actions(action.menu())


def test_the_window_fits_the_screen_and_a_1280x800_window_shows_copy_json(window, qtbot):
    from studio.ui.window_layout import LayoutMixin

    free = window.screen().availableGeometry()
    fresh = type(window)(record_history=False, autosave=False)
    qtbot.addWidget(fresh)
    assert free.contains(fresh.frameGeometry()) or (fresh.width() <= free.width() and fresh.height() <= free.height())
    assert isinstance(window, LayoutMixin)
    # however wide a panel's content, the window can be as small as 1280x800 (it was wider)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800
    window.resize(1280, 800)
    long = "A node with a very long name that goes on and on about what it does " * 2
    flow = _chat_flow()
    window.document.load(flow)
    window.run_panel.nodes[flow.nodes[1].id] = {"name": long, "status": "succeeded", "output": {"text": "hi"}}
    window.run_dock.show()
    window.run_dock.raise_()
    window.inspect_node(flow.nodes[1].id)
    qtbot.wait(50)
    button = window.run_panel.inspector.copy_button
    assert button.isEnabled()
    assert button.visibleRegion().boundingRect() == button.rect()  # wholly on screen, not cut off
    assert window.width() <= 1280


def test_view_has_a_toggle_for_every_dock(window, qtbot):
    from qtpy.QtWidgets import QDockWidget

    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    view.aboutToShow.emit()
    toggles = set(view.actions())
    docks = window.findChildren(QDockWidget)
    assert len(docks) >= 7
    for dock in docks:
        assert dock.toggleViewAction() in toggles, dock.windowTitle()
    window.inputs_dock.show()
    window.inputs_dock.toggleViewAction().trigger()
    assert not window.inputs_dock.isVisible()
    window.inputs_dock.toggleViewAction().trigger()
    assert window.inputs_dock.isVisible()


def test_status_tips_carry_no_mnemonic_ampersands(window):
    tips = {a.text(): a.statusTip() for m in window.menuBar().actions() for a in _menu_actions(m.menu())
            if not a.isSeparator()}
    assert tips["Save &As…"] == "Save As…"
    leaked = {text: tip for text, tip in tips.items() if "&" in tip.replace("&&", "")}
    assert leaked == {}


def test_the_layout_is_kept_between_sessions(window, qtbot):
    from studio.ui.editor_settings import load_settings
    from studio.ui.main_window import MainWindow

    window.removeDockWidget(window.palette_dock)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, window.palette_dock)
    window.palette_dock.show()
    window.history_dock.hide()
    window.resize(720, 600)  # (the offscreen screen is 800x800)
    qtbot.wait(20)
    assert window.close()
    assert "window" in load_settings()
    again = MainWindow(record_history=False, autosave=False)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.dockWidgetArea(again.palette_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert not again.history_dock.isVisible() and again.palette_dock.isVisible()
    assert (again.width(), again.height()) == (720, 600)
    again.act_reset_layout.trigger()  # and back to the first-start layout
    assert again.dockWidgetArea(again.palette_dock) == Qt.DockWidgetArea.LeftDockWidgetArea


# -- long names -----------------------------------------------------------------------------------


def test_long_node_names_are_elided_with_the_full_name_in_the_tooltip(window, qtbot):
    canvas, doc = window.canvas, window.document
    short = canvas.add_action("chat.create_completion", (0, 0))
    long_id = canvas.add_action("chat.create_completion", (0, 200))
    long = "Summarise every customer complaint of the week into one short paragraph"
    doc.rename_node(long_id, long)
    view = canvas.view_of(long_id).view
    shown = view._text_item.toPlainText()
    assert shown.endswith("…") and long.startswith(shown[:-1]) and shown != long
    assert view.boundingRect().width() < 2 * canvas.view_of(short).view.boundingRect().width()
    assert view.toolTip().splitlines()[0] == long  # the whole name is one hover away
    doc.rename_node(long_id, "Short again")
    assert view._text_item.toPlainText() == "Short again"
    assert view.toolTip().splitlines()[0] == "Short again"


# -- broken parts are drawn, not dropped ------------------------------------------------------------


def _broken_flow() -> Flow:
    t = Node(action="trigger.manual", name="Start")
    odd = Node(action="acme.teleport", name="Teleport", position={"x": 300, "y": 0})
    write = Node(action="chat.create_completion", name="Write", position={"x": 600, "y": 0},
                 values={"model": "gpt-4o-mini", "messages": "hi"})
    wires = [Wire(source=Endpoint(node=t.id, port="output"), target=Endpoint(node=odd.id, port="in")),
             Wire(source=Endpoint(node=odd.id, port="beamed"), target=Endpoint(node=write.id, port="in")),
             Wire(source=Endpoint(node=t.id, port="output"), target=Endpoint(node=write.id, port="context")),
             Wire(source=Endpoint(node=write.id, port="output"), target=Endpoint(node="gone1234", port="in"))]
    return Flow(name="Broken", nodes=[t, odd, write], wires=wires)


def test_unknown_actions_and_broken_wires_are_drawn_and_listed(window, qtbot):
    from studio.ui.canvas_broken import BROKEN_RGBA

    flow = _broken_flow()
    window.document.load(flow)
    problems = window.refresh_side_panels()
    canvas = window.canvas
    t, odd, write = (n.id for n in flow.nodes)
    # every node, plus a placeholder for the missing one; every wire is a pipe
    assert len(canvas.graph.all_nodes()) == 4
    assert len(canvas.viewer.all_pipes()) == 4
    assert canvas.view_of(odd).view.border_color == BROKEN_RGBA
    assert "unknown action acme.teleport" in canvas._broken_labels[odd].text()
    assert canvas.view_of(odd).get_output("beamed") is not None  # its wires keep their ports
    assert (write, "in", "context") in canvas.broken_ports
    red = [p for p in canvas.viewer.all_pipes() if tuple(p.color) == BROKEN_RGBA]
    # from a port the unknown action is not known to have, to the port Write does not have, to the
    # missing node; the wire into the unknown node's "in" is whole
    assert sorted((p.output_port.name, p.input_port.name) for p in red) == [
        ("beamed", "in"), ("output", "context"), ("output", "in")]
    assert len(red) == 3
    texts = " | ".join(str(p) for p in problems)
    assert "acme.teleport" in texts and "gone1234" in texts and "context" in texts
    # Delete on the placeholder removes the wires to the missing node; undo puts them back
    ghost = canvas._ghosts["gone1234"]
    canvas.select([])
    ghost.set_selected(True)
    canvas.viewer.setFocus()
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Delete)
    assert not any(w.target.node == "gone1234" for w in window.document.flow.wires)
    assert "gone1234" not in canvas._ghosts and len(canvas.graph.all_nodes()) == 3
    window.act_undo.trigger()
    assert "gone1234" in canvas._ghosts and len(canvas.viewer.all_pipes()) == 4


# -- "+" on an output port ---------------------------------------------------------------------------


def test_the_plus_of_an_output_port_adds_a_wired_node(window, qtbot):
    canvas, doc = window.canvas, window.document
    window._show_canvas()
    t = canvas.add_action("trigger.manual", (0, 0))
    write = canvas.add_action("chat.create_completion", (300, 0))
    doc.connect(Wire(source=Endpoint(node=t, port="output"), target=Endpoint(node=write, port="in")))
    canvas.fit()
    canvas.select([write])
    buttons = {b.port_key: b for b in canvas._add_next_buttons}
    assert set(buttons) == set(canvas.view_of(write).outputs()) and "output" in buttons
    canvas.select([])
    assert canvas._add_next_buttons == []  # only on the selected node
    canvas.select([write])
    plus = next(b for b in canvas._add_next_buttons if b.port_key == "output")
    spot = canvas.viewer.mapFromScene(plus.sceneBoundingRect().center())
    qtbot.mouseClick(canvas.viewer.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    popup = canvas._quick_add
    qtbot.waitUntil(lambda: popup is not None and popup.isVisible())
    qtbot.keyClicks(popup.search, "Create Image")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    new = canvas.selected_ids()[0]
    assert doc.node(new).action == "image.generate"
    assert Wire(source=Endpoint(node=write, port="output"), target=Endpoint(node=new, port="in")) in doc.flow.wires
    assert doc.node(new).position.x > doc.node(write).position.x  # after it, not on top of it
    assert doc.node(write).position.x == 300  # the click did not drag the node
    doc.undo_stack.undo()
    assert new not in doc.node_ids()


# -- groups and sticky notes -------------------------------------------------------------------------


def _drag(qtbot, viewport, start, end, steps=6):
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(viewport, start + (end - start) * i / steps)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def test_a_group_frames_nodes_moves_them_and_is_saved(window, qtbot, tmp_path):
    from qtpy.QtCore import QPoint, QPointF

    from studio.flow.io import load_flow

    canvas, doc = window.canvas, window.document
    window._show_canvas()
    a = canvas.add_action("chat.create_completion", (0, 0))
    b = canvas.add_action("chat.create_completion", (0, 200))
    outside = canvas.add_action("chat.create_completion", (700, 0))
    canvas.select([a, b])
    canvas.viewer.setFocus()
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    [group] = doc.flow.groups
    before = (group.position.x, group.position.y)
    a_x = doc.node(a).position.x
    frame = canvas._groups[group.id]
    assert set(frame.nodes_inside()) == {a, b}
    canvas.fit()
    canvas.select([])
    qtbot.wait(20)
    # drag the frame by its title bar: the nodes inside go with it, the one outside stays
    title = frame.mapToScene(QPointF(frame.rect().width() / 2, 12))
    start = canvas.viewer.mapFromScene(title)
    _drag(qtbot, canvas.viewer.viewport(), start, start + QPoint(80, 40))
    moved = doc.group(group.id).position
    assert (moved.x, moved.y) != before
    assert doc.node(a).position.x - a_x == moved.x - before[0] > 10
    assert doc.node(b).position.x == doc.node(a).position.x
    assert (doc.node(outside).position.x, doc.node(outside).position.y) == (700, 0)
    assert doc.undo_stack.undoText() == "Move group"
    # rename in place: double-click the title, type, Enter
    title = canvas.viewer.mapFromScene(frame.mapToScene(QPointF(30, 12)))
    qtbot.mouseDClick(canvas.viewer.viewport(), Qt.MouseButton.LeftButton, pos=title)
    assert frame.title.editing
    qtbot.keyClicks(canvas.viewer, "Drafts")
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Return)
    assert doc.group(group.id).title == "Drafts"
    # saved in the flow document, and back on the canvas when opened
    path = tmp_path / "grouped.flow.json"
    assert window._write(path)
    assert [g.title for g in load_flow(path, window.catalog, validate=False).groups] == ["Drafts"]
    window.new_flow()
    assert canvas._groups == {}
    assert window.open_file(path)
    assert [f.title.toPlainText() for f in canvas._groups.values()] == ["Drafts"]
    # Delete on a selected frame removes the frame, not the nodes in it
    frame = next(iter(canvas._groups.values()))
    canvas.select([])
    frame.setSelected(True)
    canvas.viewer.setFocus()
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Delete)
    assert window.document.flow.groups == [] and len(window.document.flow.nodes) == 3


def test_a_flow_without_groups_is_written_without_the_key(window, tmp_path):
    import json

    window.canvas.add_action("trigger.manual", (0, 0))
    path = tmp_path / "plain.flow.json"
    assert window._write(path)
    assert "groups" not in json.loads(path.read_text())


def test_sticky_notes_are_edited_in_place(window, qtbot):
    canvas, doc = window.canvas, window.document
    window._show_canvas()
    nid = canvas.add_note("")
    note = canvas._notes[nid]
    assert note.text.toPlainText() == "Double-click to write a note"
    canvas.fit()
    qtbot.wait(20)
    spot = canvas.viewer.mapFromScene(note.mapToScene(note.rect().center()))
    qtbot.mouseDClick(canvas.viewer.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    assert note.text.editing and note.text.toPlainText() == ""
    qtbot.keyClicks(canvas.viewer, "Fix the prompt Dd")  # D and F are typed, not Disable or Fit
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not note.text.editing
    [saved] = doc.flow.notes
    assert saved.text == "Fix the prompt Dd"
    assert doc.undo_stack.undoText() == "Edit note"
    # Escape while editing keeps the note as it was
    qtbot.mouseDClick(canvas.viewer.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    qtbot.keyClicks(canvas.viewer, "scratch")
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Escape)
    assert doc.flow.notes[0].text == "Fix the prompt Dd" and note.text.toPlainText() == "Fix the prompt Dd"


# -- drag a field from the inspector onto a property ---------------------------------------------------


def _drop_on(widget, mime, pos=None):
    """What the window system does when a drag ends over `widget`: enter, then drop."""
    from qtpy.QtCore import QPointF
    from qtpy.QtGui import QDragEnterEvent, QDropEvent

    pos = pos if pos is not None else widget.rect().center()
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return Qt.DropAction.IgnoreAction
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return Qt.DropAction.CopyAction if drop.isAccepted() else Qt.DropAction.IgnoreAction


def test_a_field_dragged_from_the_inspector_lands_as_an_expression(window, qtbot, monkeypatch):
    from studio.ui import field_drag
    from studio.ui.field_drag import EXPRESSION_MIME

    canvas, doc = window.canvas, window.document
    t = canvas.add_action("trigger.manual", (0, 0))
    write = canvas.add_action("chat.create_completion", (300, 0))
    use = canvas.add_action("chat.create_completion", (600, 0))
    doc.rename_node(write, "Web Draft")
    doc.connect(Wire(source=Endpoint(node=t, port="output"), target=Endpoint(node=write, port="in")))
    doc.connect(Wire(source=Endpoint(node=write, port="output"), target=Endpoint(node=use, port="in")))
    output = {"choices": [{"message": {"content": "Hello"}}], "usage": {"total_tokens": 9}}
    window.run_panel.nodes[write] = {"name": "Web Draft", "status": "succeeded", "output": output}
    canvas.select([use])  # the property panel shows Use; the inspector shows Web Draft
    window.inspect_node(write)
    window.run_dock.raise_()
    tree = window.run_panel.inspector.json_tree
    tree.expandAll()
    root = tree.topLevelItem(0)
    rows = {root.child(i).text(0): root.child(i) for i in range(root.childCount())}
    message = rows["choices"].child(0).child(0)
    assert message.text(0) == "message"
    field = window.panel.fields["model"]
    # the drag (QDrag.exec is the window system's loop: here it ends over the Model field)
    drags = []

    def drop_over(target, pos=None):
        def exec_(self, _actions):
            drags.append(bytes(self.mimeData().data(EXPRESSION_MIME)).decode())
            return _drop_on(target(), self.mimeData(), pos)
        return exec_

    monkeypatch.setattr(field_drag.QDrag, "exec", drop_over(lambda: field.editor))
    rect = tree.visualItemRect(message)
    qtbot.mousePress(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseMove(tree.viewport(), rect.center() + QPoint(30, 12))
    qtbot.mouseMove(tree.viewport(), rect.center() + QPoint(60, 24))
    qtbot.mouseRelease(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center() + QPoint(60, 24))
    expression = '{{ nodes["Web Draft"].output.choices[0].message }}'
    assert drags == [expression]
    assert doc.node(use).values["model"] == expression  # Model (not text) now reads that value
    assert field.expr_button.isChecked() and field.expression.text() == expression
    # into an expression box: inserted where it is dropped (the start, here)
    field.expression.setText("{{ input }}")
    field._expression_edited()
    monkeypatch.setattr(field_drag.QDrag, "exec", drop_over(lambda: field.expression, QPoint(0, 5)))
    window.tree_drag.start_drag(window.tree_drag.mime_for(rows["usage"].child(0)))
    assert doc.node(use).values["model"] == '{{ nodes["Web Draft"].output.usage.total_tokens }}{{ input }}'
    window.act_undo.trigger()
    assert doc.node(use).values["model"] == "{{ input }}"


def test_toolbar_undo_keeps_its_width_and_says_what_it_undoes(window, qtbot):
    from qtpy.QtWidgets import QToolBar

    toolbar = window.findChild(QToolBar, "main_toolbar")
    button = toolbar.widgetForAction(window.tb_undo)
    assert not button.isEnabled() and window.tb_undo.toolTip() == "Nothing to undo"
    width = button.sizeHint().width()
    window.canvas.add_action("chat.create_completion", (0, 0))
    assert button.isEnabled() and button.text() == "Undo"
    assert window.tb_undo.toolTip() == "Undo Add Create Chat Completion (Ctrl+Z)"
    assert button.sizeHint().width() == width
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.document.flow.nodes == [] and window.tb_redo.isEnabled()


def test_docks_give_way_when_the_window_narrows(window, qtbot):
    window.resize(1440, 900)
    window.size_docks()
    qtbot.wait(20)
    window.resize(900, 650)
    qtbot.wait(50)
    assert window.centralWidget().width() >= 0.4 * window.width()
    assert window.panel_dock.width() >= 170 and window.palette_dock.width() >= 170
