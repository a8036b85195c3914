"""Connecting two ports on a real NodeGraphQt graph (PySide6 6.12.0 crashed here: none_dealloc in
qgraphics/pipe.py). If this test dies with a segfault, check the PySide6 pin in pyproject.toml."""

from NodeGraphQt import BaseNode, NodeGraph


class _Source(BaseNode):
    __identifier__ = "tests"
    NODE_NAME = "Source"

    def __init__(self):
        super().__init__()
        self.add_output("out")


class _Sink(BaseNode):
    __identifier__ = "tests"
    NODE_NAME = "Sink"

    def __init__(self):
        super().__init__()
        self.add_input("in")


def test_two_ports_connect_and_disconnect(qtbot):
    graph = NodeGraph()
    qtbot.addWidget(graph.widget)
    graph.register_nodes([_Source, _Sink])
    a = graph.create_node("tests._Source", pos=[0, 0])
    b = graph.create_node("tests._Sink", pos=[300, 0])
    graph.widget.show()
    a.output(0).connect_to(b.input(0))
    qtbot.wait(10)  # let the scene paint the pipe
    assert b.input(0) in a.output(0).connected_ports()
    assert len(graph.viewer().all_pipes()) == 1
    a.output(0).disconnect_from(b.input(0))
    qtbot.wait(10)
    assert a.output(0).connected_ports() == []
    assert graph.viewer().all_pipes() == []
