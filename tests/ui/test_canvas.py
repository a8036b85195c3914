"""The canvas as a view of the flow document: palette drops, wiring by mouse, undo/redo, copy and
paste, sticky notes, auto-layout and the Tab quick-add."""

from qtpy.QtCore import QPoint, QPointF, Qt
from qtpy.QtGui import QDropEvent
from qtpy.QtWidgets import QApplication

from studio.flow.models import Endpoint, Wire


def _port_point(canvas, port):
    """Viewport coordinates of a port's centre."""
    view = port.view
    centre = view.sceneBoundingRect().center()
    return canvas.viewer.mapFromScene(centre)


def _drop(canvas, mime, viewport_pos):
    event = QDropEvent(QPointF(viewport_pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    canvas.viewer.dropEvent(event)


def test_drag_palette_item_onto_canvas(window, qtbot):
    palette, canvas = window.palette, window.canvas
    window._show_canvas()
    qtbot.wait(10)
    item = palette.item_for("chat.create_completion")
    mime = palette.tree.mimeData([item])
    target = QPoint(300, 200)
    _drop(canvas, mime, target)
    nodes = window.document.flow.nodes
    assert [n.action for n in nodes] == ["chat.create_completion"]
    scene = canvas.viewer.mapToScene(target)
    assert abs(nodes[0].position.x - scene.x()) < 2 and abs(nodes[0].position.y - scene.y()) < 2
    # the node on the canvas is the document's node, selected, with the catalog's ports
    view = canvas.view_of(nodes[0].id)
    assert view.name() == nodes[0].name
    assert list(view.inputs()) == ["in"] and list(view.outputs()) == ["output"]
    assert window.panel.node_id == nodes[0].id


def test_connect_two_nodes_with_the_mouse_then_undo_redo(window, qtbot):
    canvas, doc = window.canvas, window.document
    a = canvas.add_action("trigger.manual", (0, 0))
    b = canvas.add_action("chat.create_completion", (320, 40))
    canvas.fit()
    qtbot.wait(20)
    start = _port_point(canvas, canvas.view_of(a).get_output("output"))
    end = _port_point(canvas, canvas.view_of(b).get_input("in"))
    vp = canvas.viewer.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 6):
        qtbot.mouseMove(vp, start + (end - start) * i / 5)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    wire = Wire(source=Endpoint(node=a, port="output"), target=Endpoint(node=b, port="in"))
    assert doc.flow.wires == [wire]
    assert canvas.view_of(b).get_input("in") in canvas.view_of(a).get_output("output").connected_ports()

    doc.undo_stack.undo()
    assert doc.flow.wires == []
    assert canvas.view_of(a).get_output("output").connected_ports() == []
    doc.undo_stack.redo()
    assert doc.flow.wires == [wire]
    assert len(canvas.viewer.all_pipes()) == 1
    # undo everything: the nodes go too, from the document and the canvas
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.flow.nodes == [] and canvas.graph.all_nodes() == []


def test_typed_ports_refuse_a_mismatched_wire(window):
    canvas, doc = window.canvas, window.document
    tool = canvas.add_action("agent.create_web_search_tool", (0, 0))
    run = canvas.add_action("agent.run", (300, 0))
    bad = Wire(source=Endpoint(node=tool, port="tool"), target=Endpoint(node=run, port="agent"))
    assert "accepts 'agent'" in canvas.check_wire(bad)
    canvas._gesture_wires([], [(canvas.view_of(tool).get_output("tool").view, canvas.view_of(run).get_input("agent").view)])
    assert doc.flow.wires == []
    agent = canvas.add_action("agent.create", (0, 200))
    canvas._gesture_wires([], [(canvas.view_of(agent).get_output("agent").view, canvas.view_of(run).get_input("agent").view)])
    assert doc.flow.wires == [Wire(source=Endpoint(node=agent, port="agent"), target=Endpoint(node=run, port="agent"))]


def test_move_delete_and_classify_branches_grow_ports(window, qtbot):
    canvas, doc = window.canvas, window.document
    k = canvas.add_action("agent.classify_and_branch", (0, 0))
    assert list(canvas.view_of(k).outputs()) == []
    doc.set_node_value(k, "branches", {"billing": "money", "support": "help"})
    assert list(canvas.view_of(k).outputs()) == ["billing", "support"]
    # a drag on the canvas becomes one undoable move of the document's node
    view = canvas.view_of(k)
    view.view.xy_pos = [150.0, 90.0]
    canvas._gesture_moved({view.view: [0.0, 0.0]})
    assert (doc.node(k).position.x, doc.node(k).position.y) == (150.0, 90.0)
    doc.undo_stack.undo()
    assert tuple(canvas.view_of(k).pos()) == (0.0, 0.0)
    canvas.select([k])
    window.act_delete.trigger()
    assert doc.flow.nodes == [] and canvas.graph.all_nodes() == []
    doc.undo_stack.undo()
    assert list(canvas.view_of(k).outputs()) == ["billing", "support"]


def test_copy_paste_notes_and_auto_layout(window):
    canvas, doc = window.canvas, window.document
    a = canvas.add_action("trigger.manual", (0, 0))
    b = canvas.add_action("chat.create_completion", (0, 0))
    doc.connect(Wire(source=Endpoint(node=a, port="output"), target=Endpoint(node=b, port="in")))
    canvas.select([a, b])
    window.act_copy.trigger()
    window.act_paste.trigger()
    assert len(doc.flow.nodes) == 4 and len(doc.flow.wires) == 2
    names = [n.name for n in doc.flow.nodes]
    assert len(set(names)) == 4
    new_ids = {n.id for n in doc.flow.nodes} - {a, b}
    assert {w.source.node for w in doc.flow.wires[1:]} | {w.target.node for w in doc.flow.wires[1:]} == new_ids

    note = canvas.add_note("remember the key")
    assert [n.text for n in doc.flow.notes] == ["remember the key"]
    assert note in canvas._notes
    doc.undo_stack.undo()
    assert doc.flow.notes == [] and canvas._notes == {}

    window.act_layout.trigger()
    xa, xb = doc.node(a).position.x, doc.node(b).position.x
    assert xb > xa  # the downstream node sits in a later column


def test_tab_opens_quick_add_and_finds_documents_names(window, qtbot):
    canvas, doc = window.canvas, window.document
    window._show_canvas()
    canvas.viewer.setFocus()
    qtbot.keyClick(canvas.viewer, Qt.Key.Key_Tab)
    popup = canvas._quick_add
    assert popup is not None and popup.isVisible()
    qtbot.keyClicks(popup.search, "Message a Model")
    assert popup.list.currentItem().text().startswith("Create Chat Completion")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert [n.action for n in doc.flow.nodes] == ["chat.create_completion"]


def test_palette_search_matches_source_names(window):
    palette = window.palette
    palette.search.setText("Ask ChatGPT")
    assert palette.visible_action_ids() == ["chat.create_completion"]
    palette.search.setText("transcribe")
    assert "audio.transcribe" in palette.visible_action_ids()
    palette.search.setText("")
    assert len(palette.visible_action_ids()) == len(window.catalog.actions)
