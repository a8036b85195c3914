"""Opening a flow builds the canvas in bulk (nodes built without drawing, drawn once, then wired;
badges made on demand; the garbage collector paused): the result must be the same canvas as
building the nodes one at a time, and fitting it frames every node."""

import gc

from qtpy.QtCore import QRectF

from studio.flow.models import Endpoint, Flow, Node, Position, Wire


def _flow(n: int = 30) -> Flow:
    nodes = [Node(id="start", name="Start", action="trigger.manual", position=Position(x=0, y=0))]
    wires = []
    for i in range(n):
        nodes.append(Node(id=f"c{i}", name=f"Chat {i}", action="chat.create_completion",
                          position=Position(x=300 * (i % 6 + 1), y=140 * (i // 6)), disabled=(i == 3)))
        source = "start" if i % 6 == 0 else f"c{i - 1}"
        wires.append(Wire(source=Endpoint(node=source, port="output"), target=Endpoint(node=f"c{i}", port="in")))
    return Flow(name="bulk", nodes=nodes, wires=wires)


def _shape(canvas, nid):
    view = canvas.view_of(nid)
    item = view.view
    ports = [(p.name(), round(p.view.pos().x(), 1), round(p.view.pos().y(), 1))
             for p in list(view.inputs().values()) + list(view.outputs().values())]
    return (view.name(), round(item.width, 1), round(item.height, 1), tuple(item.color), tuple(item.border_color),
            view.icon(), item.toolTip(), view.disabled(), tuple(view.pos()), ports)


def test_bulk_open_builds_the_same_nodes_as_adding_them_one_by_one(window):
    flow = _flow()
    window.document.load(flow)
    canvas = window.canvas
    bulk = {n.id: _shape(canvas, n.id) for n in flow.nodes}
    assert gc.isenabled()  # paused only while building
    # every wire of the document is on the canvas
    assert canvas._canvas_wires() == {(w.source.node, w.source.port, w.target.node, w.target.port) for w in flow.wires}
    assert len(canvas.viewer.all_pipes()) == len(flow.wires)
    # the node drawn once has its real size (ports laid out), not NodeGraphQt's 100 x 80 default
    chat = canvas.view_of("c0")
    assert chat.model.width == chat.view.width and chat.view.width > 0
    assert chat.get_input("in").view.pos() != chat.get_output("output").view.pos()

    # the same nodes added one at a time (the path of a palette drop) look the same
    window.document.load(Flow())
    for node in flow.nodes:
        window.document.add_node(node)
    single = {n.id: _shape(canvas, n.id) for n in flow.nodes}
    assert single == bulk


def test_duplicate_names_in_a_half_built_flow_still_get_distinct_canvas_names(window):
    flow = Flow(name="dupes", nodes=[Node(id=f"n{i}", name="Same", action="chat.create_completion",
                                          position=Position(x=300 * i, y=0)) for i in range(3)])
    window.document.load(flow)
    names = [window.canvas.view_of(f"n{i}").name() for i in range(3)]
    assert names[0] == "Same" and len(set(names)) == 3


def test_badges_are_made_when_a_status_first_shows(window):
    window.document.load(_flow(4))
    canvas = window.canvas
    assert canvas._badges == {}  # nothing built for nodes that never ran
    canvas.set_status("c1", "running")
    assert canvas.status("c1") == "running" and set(canvas._badges) == {"c1"}
    canvas.set_status("c1", "succeeded", "Hello there")
    assert canvas.preview_text("c1") == "Hello there"
    badge = canvas._badges["c1"]
    rect = canvas.view_of("c1").view.boundingRect()
    assert badge.isVisible() and badge.pos().y() < rect.top()  # above the node
    canvas.set_status("missing-node", "running")  # unknown ids are ignored
    assert canvas.status("missing-node") == ""
    canvas.clear_statuses()
    assert canvas.status("c1") == "" and not badge.isVisible() and canvas.preview_text("c1") == ""


def _visible(canvas) -> QRectF:
    return canvas.viewer.mapToScene(canvas.viewer.viewport().rect()).boundingRect()


def test_fit_frames_every_node_or_the_selection(window, qtbot):
    window._show_canvas()
    window.document.load(_flow(60))
    canvas = window.canvas
    qtbot.wait(10)
    canvas.fit()
    shown = _visible(canvas)
    for nid in window.document.node_ids():
        assert shown.contains(canvas.view_of(nid).view.sceneBoundingRect()), nid
    whole = shown.width()
    canvas.select(["c7"])
    canvas.fit()
    shown = _visible(canvas)
    assert shown.contains(canvas.view_of("c7").view.sceneBoundingRect())
    assert shown.width() < whole / 2  # zoomed in on the one node, not the flow


def test_ports_hide_when_zoomed_out_past_labels_and_come_back(window):
    window.document.load(_flow(2))
    item = window.canvas.view_of("c0").view
    ports = item.inputs + item.outputs
    item.set_proxy_mode(True)
    assert not any(p.isVisible() for p in ports) and not item.text_item.isVisible()
    item.set_proxy_mode(False)
    assert all(p.isVisible() for p in ports) and item.text_item.isVisible()


def test_a_closed_flow_is_collected_although_the_open_one_is_frozen(window):
    import weakref

    window.document.load(_flow(5))
    assert gc.isenabled() and gc.get_freeze_count() > 0  # the built canvas is skipped by collections
    gone = weakref.ref(window.canvas.view_of("c2"))
    window.document.load(Flow())  # the next rebuild unfreezes: the old nodes can be collected
    gc.collect()
    assert gone() is None
