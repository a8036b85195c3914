"""The document checks the flow once per state: selecting nodes reuses the findings, every edit
(and undo, and a new flow) checks again, so the inline errors and the Problems list stay right."""

import pytest

import studio.flow.validate as validate_module
from studio.flow.models import Endpoint, Flow, Node, Position, Wire


@pytest.fixture
def calls(monkeypatch):
    seen = []
    real = validate_module.validate_flow

    def counting(flow, catalog):
        seen.append(len(flow.nodes))
        return real(flow, catalog)

    monkeypatch.setattr(validate_module, "validate_flow", counting)
    return seen


def _flow() -> Flow:
    start = Node(id="start", name="Start", action="trigger.manual", position=Position(x=0, y=0))
    chats = [Node(id=f"c{i}", name=f"Chat {i}", action="chat.create_completion", position=Position(x=300 * i, y=0),
                  values={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}) for i in (1, 2, 3)]
    wires = [Wire(source=Endpoint(node="start", port="output"), target=Endpoint(node=c.id, port="in")) for c in chats]
    return Flow(name="cache", nodes=[start, *chats], wires=wires)


def test_selecting_nodes_reuses_the_findings_and_edits_check_again(window, calls):
    window.document.load(_flow())
    window.refresh_side_panels()
    checked = len(calls)
    assert checked >= 1
    for nid in ("c1", "c2", "c3", "c1"):
        window.canvas.select([nid])
        assert window.panel.node_id == nid
    assert len(calls) == checked  # no whole-flow check per selection

    # an edit makes the selected node's inline error appear: the flow was checked again
    window.canvas.select(["c2"])
    window.document.set_node_value("c2", "temperature", 7)
    window.panel.validate()
    assert len(calls) == checked + 1
    assert "at most 2" in window.panel.fields["temperature"].error_text()
    problems = window.refresh_side_panels()
    assert len(calls) == checked + 1  # the Problems list shares the same findings
    assert any("Chat 2" in where for where, _ in window.problems.rows()) and problems

    window.document.undo_stack.undo()
    window.panel.validate()
    assert window.panel.fields["temperature"].error_text() is None
    assert window.refresh_side_panels() == []


def test_findings_follow_every_kind_of_change(window):
    doc = window.document
    catalog = window.catalog
    doc.load(_flow())
    first = doc.problems(catalog)
    assert first == [] and doc.problems(catalog) is not doc.problems(catalog)  # callers get copies
    doc.remove_nodes(["start"])  # no trigger any more
    assert any("no trigger" in p.message for p in doc.problems(catalog))
    doc.undo_stack.undo()
    assert doc.problems(catalog) == []
    doc.edit_wires(add=[Wire(source=Endpoint(node="c1", port="output"), target=Endpoint(node="c1", port="in"))])
    assert doc.problems(catalog) != []
    doc.load(Flow())
    assert any("no trigger" in p.message for p in doc.problems(catalog))


def test_select_replaces_the_selection(window):
    window.document.load(_flow())
    canvas = window.canvas
    canvas.select(["c1", "c2"])
    assert sorted(canvas.selected_ids()) == ["c1", "c2"]
    canvas.select(["c3"])
    assert canvas.selected_ids() == ["c3"] and window.panel.node_id == "c3"
    canvas.select([])
    assert canvas.selected_ids() == [] and window.panel.node_id is None
