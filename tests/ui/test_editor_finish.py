"""The editor's last conventions, driven through real widgets: renames that follow bare node-name
fields, the Chat panel refusing like Run, broken parts drawn and listed, add-next from a port's
"+", dragging a field from the inspector into a property, groups and in-place notes, long names,
and a window that fits a small screen with its layout kept between sessions."""

from __future__ import annotations

from qtpy.QtCore import Qt

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
