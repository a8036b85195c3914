"""`FlowDocument.node(id)` remembers where each node is in the flow's list and checks it at every
look-up: adding, removing, undoing and loading another flow never give a wrong or stale node."""

from __future__ import annotations

import pytest

from studio.flow.models import Flow, Node
from studio.ui.document import FlowDocument


def _nodes(*names: str) -> list[Node]:
    return [Node(id=name.lower(), name=name, action="core.noop") for name in names]


def test_look_ups_follow_every_change_of_the_node_list(qtbot):
    doc = FlowDocument(Flow(nodes=_nodes("A", "B", "C", "D")))
    assert [doc.node(i).name for i in ("a", "b", "c", "d")] == ["A", "B", "C", "D"]
    doc.remove_nodes(["b"])  # the places of C and D move
    assert doc.node("c").name == "C" and doc.node("d").name == "D"
    with pytest.raises(KeyError, match="no node with id 'b'"):
        doc.node("b")
    doc.undo_stack.undo()
    assert doc.node("b").name == "B" and doc.node("d").name == "D"
    doc.add_node(Node(id="e", name="E", action="core.noop"))
    assert doc.node("e").name == "E"
    doc.rename_node("c", "Renamed")
    assert doc.node("c").name == "Renamed"


def test_a_flow_loaded_into_the_document_is_the_one_looked_up(qtbot):
    doc = FlowDocument(Flow(nodes=_nodes("A", "B")))
    assert doc.node("b").name == "B"
    other = Flow(nodes=[Node(id="b", name="Other B", action="core.noop"), Node(id="z", name="Z", action="core.noop")])
    doc.load(other)
    assert doc.node("b").name == "Other B" and doc.node("z").name == "Z"
    with pytest.raises(KeyError):
        doc.node("a")
