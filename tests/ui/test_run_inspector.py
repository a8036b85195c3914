"""The run panel's inspector follows real runs on the Simulated connection: it shows a node's
output when the run ends, the token count of the resumed run after an approval, no live approval
card once the run is over, and nothing of the previous flow after New or Open."""

from __future__ import annotations

import asyncio

import pytest
from qtpy.QtCore import Qt

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


def _on_simulated(window) -> None:
    from studio.credentials import SIMULATED

    index = window.run_on.findData(SIMULATED)
    assert index >= 0
    window.run_on.setCurrentIndex(index)


def _run(window, run_async):
    assert window.run_flow()
    result = run_async(window.runs.wait(), timeout=60)
    window.run_panel.flush()
    return result


def _waiting_refund_run(window, run_async):
    from studio.resources import examples_dir

    assert window.open_file(examples_dir() / "agent-refund-with-approval.flow.json")
    _on_simulated(window)
    first = _run(window, run_async)
    assert first.status == "waiting", first.error
    return first, window.document.flow.node_by_name("Run").id


def _approve_and_wait(window, run_async, qtbot, run_node):
    window.canvas.select([run_node])
    inspector = window.run_panel.inspector
    [card] = inspector.cards
    assert card.approve_button.isEnabled()
    qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton)
    assert window.runs.running  # the decision resumed the run
    resumed = run_async(window.runs.wait(), timeout=60)
    window.run_panel.flush()
    assert resumed.status == "succeeded", resumed.error
    return resumed


def test_the_inspected_node_shows_its_output_when_the_run_ends(window, run_async, qtbot):
    window.document.load(small_flow())
    _on_simulated(window)
    write = window.document.flow.node_by_name("Write").id
    window.canvas.select([write])  # the inspector shows Write before the run
    inspector = window.run_panel.inspector
    assert "not run yet" in inspector.title.text()
    result = _run(window, run_async)
    assert result.status == "succeeded", result.error
    output = result.nodes[write].output
    # without clicking the node again
    assert inspector.value == output
    root = inspector.json_tree.topLevelItem(0)
    assert root is not None and root.text(0) == "output" and root.childCount() == len(output)
    assert output["choices"][0]["message"]["content"] in inspector.text_view.toPlainText()
    assert inspector.copy_button.isEnabled()
    tokens = result.nodes[write].usage["total_tokens"]
    assert inspector.title.text() == f"Write — succeeded · {tokens} tokens"


def test_after_an_approval_the_inspector_shows_the_resumed_runs_tokens(window, run_async, qtbot):
    first, run_node = _waiting_refund_run(window, run_async)
    inspector = window.run_panel.inspector
    window.canvas.select([run_node])
    assert inspector.title.text() == f"Run — waiting · {first.nodes[run_node].usage['total_tokens']} tokens"
    resumed = _approve_and_wait(window, run_async, qtbot, run_node)
    tokens = resumed.nodes[run_node].usage["total_tokens"]
    assert tokens != first.nodes[run_node].usage["total_tokens"]
    assert inspector.title.text() == f"Run — succeeded · {tokens} tokens"
    assert inspector.value == resumed.nodes[run_node].output
    assert f"{resumed.usage['total_tokens']} tokens" in window.run_panel.summary.text()


def test_no_approval_card_stays_live_after_the_run(window, run_async, qtbot):
    _first, run_node = _waiting_refund_run(window, run_async)
    decisions = []
    window.runs.approval_decided.connect(lambda *args: decisions.append(args))
    _approve_and_wait(window, run_async, qtbot, run_node)
    assert len(decisions) == 1
    inspector = window.run_panel.inspector
    live = [c for c in inspector.cards if c.approve_button.isEnabled() or c.reject_button.isEnabled()]
    assert not live
    for card in inspector.cards:  # a second Approve is not taken
        qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton)
    assert len(decisions) == 1 and not window.runs.running
    # clicking the node again shows the same: nothing waits
    window.canvas.select([])
    window.canvas.select([run_node])
    assert not [c for c in inspector.cards if c.approve_button.isEnabled()]
    assert window.run_panel.nodes[run_node].get("waiting") in (None, [])


@pytest.mark.parametrize("how", ["new", "open"])
def test_new_or_open_forgets_the_previous_flows_run(window, run_async, qtbot, tmp_path, how):
    _first, run_node = _waiting_refund_run(window, run_async)
    window.canvas.select([run_node])
    panel, inspector = window.run_panel, window.run_panel.inspector
    assert panel.nodes and panel.events.topLevelItemCount() and inspector.cards
    if how == "new":
        window.act_new.trigger()
    else:
        from studio.flow.io import save_flow

        path = tmp_path / "other.flow.json"
        save_flow(small_flow(), path)
        assert window.open_file(path)
    assert panel.nodes == {} and panel.events.topLevelItemCount() == 0
    assert panel.current is None
    assert inspector.value is None and not inspector.cards
    assert inspector.json_tree.topLevelItemCount() == 0
    assert inspector.text_view.toPlainText() == ""
    assert not inspector.copy_button.isEnabled()
    assert "Run" not in inspector.title.text() and "waiting" not in inspector.title.text()
    assert "No run yet" in panel.summary.text()
    if how == "open":  # and the new flow's runs show as usual
        _on_simulated(window)
        write = window.document.flow.node_by_name("Write").id
        window.canvas.select([write])
        result = _run(window, run_async)
        assert result.status == "succeeded", result.error
        assert set(panel.nodes) == set(window.document.node_ids())
        assert inspector.value == result.nodes[write].output


def test_new_while_a_run_goes_on_shows_nothing_of_that_run(window, run_async, qtbot):
    window.document.load(small_flow())
    _on_simulated(window)
    assert window.run_flow()

    async def first_events_shown():
        while not window.run_panel.nodes:
            await asyncio.sleep(0.01)

    run_async(first_events_shown(), timeout=20)
    assert window.runs.running
    window.act_new.trigger()
    panel = window.run_panel
    assert panel.nodes == {} and panel.events.topLevelItemCount() == 0
    result = run_async(window.runs.wait(), timeout=60)
    panel.flush()
    assert result.status == "succeeded", result.error
    assert panel.nodes == {} and panel.events.topLevelItemCount() == 0
    assert "No run yet" in panel.summary.text() and panel.inspector.value is None
    # the next flow's run is shown again
    window.document.load(small_flow())
    _on_simulated(window)
    result = _run(window, run_async)
    assert result.status == "succeeded", result.error
    assert set(panel.nodes) == set(window.document.node_ids())
