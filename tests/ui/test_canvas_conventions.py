"""Canvas conventions users bring from n8n, Rivet and ComfyUI, driven through real widgets: the node
and canvas right-click menus, canvas keys (F2, Ctrl+D, D, Ctrl+F), find-a-node, the zoom buttons
and percent, where new and pasted nodes land, wiring a new node from an output dropped on empty
canvas, and the minimap."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QPoint, QPointF, Qt
from qtpy.QtGui import QContextMenuEvent, QCursor
from qtpy.QtWidgets import QApplication

from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.flow.models import Endpoint, Flow, Node, Position, Wire


def small_flow() -> Flow:
    start = Node(action="trigger.manual", name="Start", position=Position(x=0, y=0))
    write = Node(action="chat.create_completion", name="Write", position=Position(x=300, y=0),
                 values={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]})
    check = Node(action="moderation.classify", name="Check", position=Position(x=600, y=0),
                 values={"input": "{{ nodes.Write.output.choices[0].message.content }}"})
    wires = [Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=write.id, port="in")),
             Wire(source=Endpoint(node=write.id, port="output"), target=Endpoint(node=check.id, port="in"))]
    return Flow(name="Hello", nodes=[start, write, check], wires=wires)


def _open(window, qtbot, flow=None):
    window.document.load(flow or small_flow())
    window._show_canvas()
    window.canvas.fit()
    qtbot.wait(20)
    window.canvas.viewer.setFocus()
    return window.canvas, window.document


def _node_point(canvas, nid) -> QPoint:
    """Viewport point on a node's body (left part, clear of the ports)."""
    rect = canvas.view_of(nid).view.sceneBoundingRect()
    return canvas.viewer.mapFromScene(QPointF(rect.center().x(), rect.top() + 12))


def _right_click(canvas, qtbot, pos: QPoint):
    """A right-click as the platform delivers it: press, release, then a context-menu event (which
    QTest does not synthesize on every platform)."""
    vp = canvas.viewer.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.RightButton, pos=pos)
    QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, vp.mapToGlobal(pos)))
    qtbot.waitUntil(lambda: canvas.context_menu is not None and canvas.context_menu.isVisible(), timeout=2000)
    return canvas.context_menu


def _entry(menu, text: str):
    for action in menu.actions():
        if action.text().split("\t")[0] == text:
            return action
    raise AssertionError(f"{text!r} not in {[a.text() for a in menu.actions()]}")


def _click_entry(menu, qtbot, text: str):
    action = _entry(menu, text)
    assert action.isEnabled(), text
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def _empty_point(canvas) -> QPoint:
    """A viewport point over no node (below the flow)."""
    rect = canvas.flow_rect()
    return canvas.viewer.mapFromScene(QPointF(rect.center().x(), rect.bottom() + 60))


def test_node_menu_rename_duplicate_disable_copy_delete(window, qtbot):
    canvas, doc = _open(window, qtbot)
    write = doc.flow.node_by_name("Write").id
    check = doc.flow.node_by_name("Check").id
    menu = _right_click(canvas, qtbot, _node_point(canvas, write))
    assert canvas.selected_ids() == [write]  # right-click selects the node
    for text in ("Rename…", "Duplicate", "Disable", "Run from here", "Run only this node", "Pin output", "Copy",
                 "Delete"):
        _entry(menu, text)

    # Rename edits the name in place and goes through the document: the expression follows
    _click_entry(menu, qtbot, "Rename…")
    editor = canvas._rename_box
    assert editor.isVisible() and editor.text() == "Write"
    editor.selectAll()
    qtbot.keyClicks(editor, "Draft")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert doc.node(write).name == "Draft" and canvas.view_of(write).name() == "Draft"
    assert doc.node(check).values["input"] == "{{ nodes.Draft.output.choices[0].message.content }}"
    doc.undo_stack.undo()  # one step
    assert doc.node(write).name == "Write" and "nodes.Write." in doc.node(check).values["input"]

    # F2 on the canvas renames too; Escape cancels
    canvas.viewer.setFocus()
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_F2)
    assert editor.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not editor.isVisible() and doc.node(write).name == "Write"

    # Disable from the menu: the document says so and the node looks disabled; D enables again
    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, write)), qtbot, "Disable")
    assert doc.node(write).disabled and canvas.view_of(write).view.disabled
    assert _entry(_right_click(canvas, qtbot, _node_point(canvas, write)), "Enable")
    canvas.context_menu.close()
    canvas.viewer.setFocus()
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_D)
    assert not doc.node(write).disabled and not canvas.view_of(write).view.disabled

    # Duplicate (menu and Ctrl+D): new ids and names, wires among the copies kept
    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, write)), qtbot, "Duplicate")
    assert len(doc.flow.nodes) == 4 and "Write 2" in [n.name for n in doc.flow.nodes]
    assert _overlaps(canvas) == []  # the copy lands below the original, clear of it
    canvas.select([write, check])
    canvas.viewer.setFocus()
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(doc.flow.nodes) == 6 and len(doc.flow.wires) == 3  # the copy of Write -> Check is wired
    assert _overlaps(canvas) == []
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert len(doc.flow.nodes) == 3

    # Copy, then Delete
    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, check)), qtbot, "Copy")
    assert b"Check" in bytes(QApplication.clipboard().mimeData().data("application/x-flow-studio-nodes"))
    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, check)), qtbot, "Delete")
    assert [n.name for n in doc.flow.nodes] == ["Start", "Write"]


@pytest.fixture
def server():
    with FakeOpenAIServer(latency_ms=5) as srv:
        yield srv


def test_node_menu_runs_and_pins(window, qtbot, server, run_async):
    window.runs.base_url = server.base_url
    canvas, doc = _open(window, qtbot)
    write = doc.flow.node_by_name("Write").id
    check = doc.flow.node_by_name("Check").id
    # before any run there is nothing to pin
    assert not _entry(_right_click(canvas, qtbot, _node_point(canvas, write)), "Pin output").isEnabled()
    canvas.context_menu.close()
    assert window.run_flow()
    assert run_async(window.runs.wait()).status == "succeeded"

    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, check)), qtbot, "Run only this node")
    result = run_async(window.runs.wait())
    ran = {nid for nid, node in result.nodes.items() if node.status == "succeeded"}
    assert result.status == "succeeded" and ran == {check}  # the others' last outputs were reused

    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, write)), qtbot, "Run from here")
    result = run_async(window.runs.wait())
    assert result.status == "succeeded" and result.nodes[write].status == "succeeded"
    assert result.nodes[doc.flow.node_by_name("Start").id].status == "skipped"
    assert result.nodes[check].status == "succeeded"  # after the start node: run again, not reused

    # Pin output: the same pins the History tab shows, used by later runs; then Unpin
    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, write)), qtbot, "Pin output")
    assert write in window.history_panel.history.pinned_outputs(doc.flow.id)
    assert window.runs._pins(doc.flow, False) == {write: window.runs.last_outputs[write]}
    _click_entry(_right_click(canvas, qtbot, _node_point(canvas, write)), qtbot, "Unpin output")
    assert write not in window.history_panel.history.pinned_outputs(doc.flow.id)


def test_canvas_menu_add_here_paste_here_select_all_fit(window, qtbot):
    canvas, doc = _open(window, qtbot)
    point = _empty_point(canvas)
    menu = _right_click(canvas, qtbot, point)
    texts = [a.text().split("\t")[0] for a in menu.actions() if not a.isSeparator()]
    assert texts[:4] == ["Add node here…", "Paste here", "Select all", "Fit to view"]
    assert window.act_undo in menu.actions()
    scene = canvas.viewer.mapToScene(point)

    _click_entry(menu, qtbot, "Add node here…")
    popup = canvas._quick_add
    assert popup.isVisible()
    qtbot.keyClicks(popup.search, "Create Chat Completion")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    added = doc.node(canvas.selected_ids()[0])
    assert added.action == "chat.create_completion"
    assert abs(added.position.x - scene.x()) < 2 and abs(added.position.y - scene.y()) < 2

    canvas.select([doc.flow.node_by_name("Start").id])
    window.act_copy.trigger()
    point2 = point + QPoint(0, 120)
    scene2 = canvas.viewer.mapToScene(point2)
    _click_entry(_right_click(canvas, qtbot, point2), qtbot, "Paste here")
    pasted = doc.node(canvas.selected_ids()[0])
    assert pasted.name == "Start 2"
    assert abs(pasted.position.x - scene2.x()) < 2 and abs(pasted.position.y - scene2.y()) < 2

    _click_entry(_right_click(canvas, qtbot, _empty_point(canvas)), qtbot, "Select all")
    assert set(canvas.selected_ids()) == set(doc.node_ids())
    canvas.select([])
    window.act_zoom_in = canvas.act_zoom_in
    for _ in range(6):
        canvas.zoom_by(1.5)
    assert not canvas.visible_rect().contains(canvas.flow_rect())
    # a point clear of nodes at this zoom: the top-left corner of the view
    _click_entry(_right_click(canvas, qtbot, QPoint(3, 3)), qtbot, "Fit to view")
    assert canvas.visible_rect().contains(canvas.flow_rect())


def test_ctrl_f_finds_a_node_by_name_or_action_and_centres_it(window, qtbot):
    flow = small_flow()
    flow.nodes.append(Node(action="image.generate", name="Poster", position=Position(x=3000, y=1500)))
    canvas, doc = _open(window, qtbot, flow)
    canvas.zoom_by(2.0)
    canvas.select([])
    poster = doc.flow.node_by_name("Poster").id
    assert not canvas.visible_rect().contains(canvas.view_of(poster).view.sceneBoundingRect().center())

    qtbot.keyClick(canvas.viewer, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    box = canvas.find_box
    assert box.isVisible() and box.search.hasFocus()
    qtbot.keyClicks(box.search, "violations")  # the action title of Check (Classify Text for Violations)
    assert box.results.count() == 1 and box.results.item(0).text().startswith("Check")
    box.search.clear()
    qtbot.keyClicks(box.search, "post")  # the node's name
    assert box.results.currentItem().text().startswith("Poster")
    qtbot.keyClick(box.search, Qt.Key.Key_Return)
    assert not box.isVisible()
    assert canvas.selected_ids() == [poster]
    centre = canvas.visible_rect().center()
    target = canvas.view_of(poster).view.sceneBoundingRect().center()
    assert abs(centre.x() - target.x()) < 5 and abs(centre.y() - target.y()) < 5
    assert window.panel.node_id == poster
    # Escape closes it without changing anything
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(box.search, Qt.Key.Key_Escape)
    assert not box.isVisible() and canvas.selected_ids() == [poster]


def test_zoom_buttons_and_percent(window, qtbot):
    canvas, doc = _open(window, qtbot)
    bar = canvas.zoom_bar
    assert bar.isVisible()
    corner = canvas.viewer.rect().bottomRight()
    assert bar.geometry().right() > corner.x() - 40 and bar.geometry().bottom() > corner.y() - 40
    canvas.set_zoom_percent(100)
    qtbot.waitUntil(lambda: bar.label.text() == "100%")
    qtbot.mouseClick(bar.in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.label.text() == "120%")
    assert canvas.zoom_percent() == 120
    qtbot.mouseClick(bar.out_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(bar.out_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.label.text() == "83%")
    canvas.zoom_by(8)
    qtbot.mouseClick(bar.fit_button, Qt.MouseButton.LeftButton)
    assert canvas.visible_rect().contains(canvas.flow_rect())
    qtbot.waitUntil(lambda: bar.label.text() == f"{canvas.zoom_percent()}%")


def _overlaps(canvas):
    rects = [(nid, v.view.sceneBoundingRect()) for nid, v in canvas._views.items()]
    return [(a, b) for i, (a, ra) in enumerate(rects) for b, rb in rects[i + 1:] if ra.intersects(rb)]


def test_new_nodes_never_overlap_and_land_beside_the_selection_or_at_the_cursor(window, qtbot):
    canvas, doc = window.canvas, window.document
    window._show_canvas()
    QCursor.setPos(window.palette.mapToGlobal(window.palette.rect().center()))  # not over the canvas
    palette = window.palette
    # Enter in the palette's search adds the first match, several times, with nothing selected
    for text in ("Create Chat Completion", "Create Chat Completion", "Create Image", "Moderation"):
        palette.search.setText("")
        qtbot.keyClicks(palette.search, text)
        canvas.select([])
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert len(doc.flow.nodes) == 4
    assert _overlaps(canvas) == []
    assert doc.undo_stack.count() == 4  # each placement is one undo step

    # with one node selected, the next lands to its right
    first = doc.flow.nodes[0].id
    canvas.select([first])
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    new = canvas.selected_ids()[0]
    assert doc.node(new).position.x > canvas.view_of(first).view.sceneBoundingRect().right()
    assert _overlaps(canvas) == []

    # dropped onto an existing node: it moves clear of it
    from studio.ui.palette import mime_for
    from tests.ui.test_canvas import _drop

    onto = canvas.viewer.mapFromScene(canvas.view_of(first).view.sceneBoundingRect().center())
    _drop(canvas, mime_for("image.generate"), onto)
    assert len(doc.flow.nodes) == 6 and _overlaps(canvas) == []

    # Ctrl+V pastes at the cursor when it is over the canvas
    canvas.select([first])
    window.act_copy.trigger()
    target = QPoint(40, 40)
    QCursor.setPos(canvas.viewer.viewport().mapToGlobal(target))
    if canvas.viewer.viewport().mapFromGlobal(QCursor.pos()) != target:
        pytest.skip("this platform cannot move the cursor")
    window.act_paste.trigger()
    pasted = doc.node(canvas.selected_ids()[0])
    scene = canvas.viewer.mapToScene(target)
    assert abs(pasted.position.x - scene.x()) < 2 and abs(pasted.position.y - scene.y()) < 2


def test_dragging_a_wire_from_an_output_into_empty_canvas_adds_a_wired_node(window, qtbot):
    canvas, doc = _open(window, qtbot)
    write = doc.flow.node_by_name("Write").id
    port = canvas.view_of(write).get_output("output").view
    start = canvas.viewer.mapFromScene(port.sceneBoundingRect().center())
    end = canvas.viewer.mapFromScene(canvas.view_of(write).view.sceneBoundingRect().bottomRight() + QPointF(60, 120))
    vp = canvas.viewer.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 6):
        qtbot.mouseMove(vp, start + (end - start) * i / 5)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    popup = canvas._quick_add
    assert popup is not None and popup.isVisible()
    qtbot.keyClicks(popup.search, "Create Image")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    new = canvas.selected_ids()[0]
    assert doc.node(new).action == "image.generate"
    assert Wire(source=Endpoint(node=write, port="output"), target=Endpoint(node=new, port="in")) in doc.flow.wires
    scene = canvas.viewer.mapToScene(end)
    assert abs(doc.node(new).position.x - scene.x()) < 2
    doc.undo_stack.undo()  # node and wire are one step
    assert new not in doc.node_ids() and len(doc.flow.wires) == 2


def test_minimap_shows_the_view_and_moves_it_on_click(window, qtbot):
    flow = small_flow()
    flow.nodes.append(Node(action="image.generate", name="Far", position=Position(x=4000, y=2000)))
    canvas, doc = _open(window, qtbot, flow)
    canvas.zoom_by(3)
    qtbot.wait(20)
    minimap = canvas.minimap
    assert minimap.isVisible()
    far = canvas.view_of(doc.flow.node_by_name("Far").id).view.sceneBoundingRect().center()
    assert not canvas.visible_rect().contains(far)
    qtbot.waitUntil(lambda: minimap.sceneRect().contains(far))
    qtbot.mouseClick(minimap.viewport(), Qt.MouseButton.LeftButton, pos=minimap.mapFromScene(far))
    assert canvas.visible_rect().contains(far)
    window.act_fit.trigger()
    canvas.act_minimap.setChecked(False)
    assert not minimap.isVisible()
