"""An agent's steps in the editor: while a run goes on, the line under the agent node follows its
steps and the inspector's Steps tab fills in (tool call with arguments, tool result, model calls
with tokens); the run history keeps them, and opening the run from History shows them again.
A resume that fails before anything ran leaves the run waiting, its cards answerable again.

Against the project's fake OpenAI server on loopback and a real MCP server process (the
fixture server over stdio)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from qtpy.QtCore import Qt

from studio.connectors.openai.fake_server import FakeOpenAIServer, tool_call
from studio.flow.models import Endpoint, Flow, Node, Position, Wire

MCP_SERVER = Path(__file__).resolve().parents[1] / "fixtures" / "mcp" / "server.py"


@pytest.fixture
def server():
    with FakeOpenAIServer(latency_ms=300) as srv:
        yield srv


def _wire(a: Node, b: Node, port: str = "in", source_port: str = "output") -> Wire:
    return Wire(source=Endpoint(node=a.id, port=source_port), target=Endpoint(node=b.id, port=port))


def calculator_flow() -> Flow:
    start = Node(action="trigger.manual", name="Start", position=Position(x=0, y=0))
    mcp = Node(action="agent.add_local_mcp_server", name="Tools", position=Position(x=250, y=0),
               values={"server_label": "fixture", "command": sys.executable, "args": [str(MCP_SERVER), "stdio"],
                       "tool_filter": ["add"]})
    agent = Node(action="agent.create", name="Agent", position=Position(x=500, y=0),
                 values={"name": "Calculator", "instructions": "Use the tools."})
    runner = Node(action="agent.run", name="Run", position=Position(x=750, y=0),
                  values={"user_input": "What is 19 + 23?"})
    return Flow(name="Calculator", nodes=[start, mcp, agent, runner],
                wires=[_wire(start, mcp), _wire(mcp, agent, "mcp_servers", "mcp_server"),
                       _wire(agent, runner, "agent", "agent")])


def _rows(view) -> list[tuple[str, str]]:
    return [(view.topLevelItem(i).text(1), view.topLevelItem(i).text(2)) for i in range(view.topLevelItemCount())]


def test_steps_show_live_in_the_editor_are_recorded_and_come_back_from_history(window, server, run_async,
                                                                              qtbot, artifacts_dir):
    from studio.history import RunHistory

    window.runs.base_url = server.base_url
    window.runs.record_history = True
    window.document.load(calculator_flow())  # built here, so it is the user's own: no trust question
    window._show_canvas()
    run_node = window.document.flow.node_by_name("Run").id
    window.canvas.select([run_node])  # the inspector follows the agent node through the run
    lines_while_running = []
    window.run_panel.node_status.connect(
        lambda nid, status, preview: lines_while_running.append(preview)
        if nid == run_node and status == "running" and preview else None)
    server.script("responses", tool_call("add", {"a": 19, "b": 23}, call_id="call_add"), "19 + 23 = 42")

    view = window.run_panel.inspector.steps_view
    assert window.run_flow()

    async def tool_steps_shown_mid_run():
        while view.topLevelItemCount() < 3:
            await asyncio.sleep(0.01)
        return window.runs.running, _rows(view)

    running, rows_mid_run = run_async(tool_steps_shown_mid_run(), timeout=90)
    result = run_async(window.runs.wait(), timeout=90)
    window.run_panel.flush()
    assert result.status == "succeeded", result.error

    # Live: the timeline had the tool call and its result while the second model call was still
    # on its way (the server takes 300 ms per answer), and the line under the node followed.
    assert running and [label for label, _ in rows_mid_run[:3]] == ["Model call", "Tool call", "Tool result"]
    numbers = [int(line.split(":")[0].split()[1]) for line in lines_while_running]
    assert numbers == sorted(set(numbers)) and len(numbers) >= 2, lines_while_running
    assert any(line.startswith("step 3: tool result add: sum=42") for line in lines_while_running)
    assert lines_while_running[-1].startswith("step 4: model call gpt-4.1 (Calculator)")
    assert window.canvas.preview_text(run_node) == "19 + 23 = 42"  # the answer once it is done

    # The inspector's timeline.
    inspector = window.run_panel.inspector
    rows = _rows(view)
    assert [label for label, _ in rows] == ["Model call", "Tool call", "Tool result", "Model call"]
    assert rows[1][1] == 'add {"a": 19, "b": 23}'
    assert rows[2][1].startswith("add: sum=42")
    assert inspector.tabs.tabText(inspector.tabs.indexOf(view)) == "Steps (4)"
    arguments = [view.topLevelItem(1).child(i) for i in range(view.topLevelItem(1).childCount())]
    assert {c.text(1): c.data(2, Qt.ItemDataRole.UserRole) for c in arguments}["arguments"] == {"a": 19, "b": 23}
    tokens = [s["total_tokens"] for s in view.steps if s["type"] == "model_call"]
    assert all(t > 0 for t in tokens) and sum(tokens) == result.nodes[run_node].usage["total_tokens"]
    # and the event list says what each step was
    details = [window.run_panel.events.topLevelItem(i).text(3)
               for i in range(window.run_panel.events.topLevelItemCount())]
    assert 'tool call add {"a": 19, "b": 23}' in details

    inspector.tabs.setCurrentWidget(view)
    view.expandItem(view.topLevelItem(1))
    window.resize(1400, 900)
    qtbot.wait(50)
    assert window.grab().save(str(artifacts_dir / "agent-steps-timeline.png"))

    # The history keeps every step of the node.
    recorded = RunHistory().get_run(result.run_id)
    [run_record] = [n for n in recorded.nodes if n.node_id == run_node]
    assert [s["type"] for s in run_record.steps] == ["model_call", "tool_call", "tool_result", "model_call"]
    assert run_record.steps[1]["arguments"] == {"a": 19, "b": 23}
    assert [n.steps for n in recorded.nodes if n.node_id != run_node] == [None, None, None]

    # Another run of something else, then the past run opened from the History tab: its steps again.
    window.run_panel.reset()
    assert window.run_panel.nodes == {} and view.topLevelItemCount() == 0
    panel = window.history_panel
    panel.refresh()
    assert panel.select_run(result.run_id)
    assert panel.open_selected() is not None
    window.canvas.select([])
    window.canvas.select([run_node])
    assert [label for label, _ in _rows(view)] == ["Model call", "Tool call", "Tool result", "Model call"]
    assert _rows(view)[2][1].startswith("add: sum=42")


def _refund_waiting(window, server, run_async):
    from studio.resources import examples_dir

    window.runs.base_url = server.base_url
    window.runs.record_history = True
    assert window.open_file(examples_dir() / "agent-refund-with-approval.flow.json")
    server.script("responses", tool_call("approve_refund", {"reason": "broken", "amount": 50}, call_id="call_r1"))
    assert window.run_flow()
    first = run_async(window.runs.wait(), timeout=60)
    window.run_panel.flush()
    assert first.status == "waiting", first.error
    return first, window.document.flow.node_by_name("Run").id


def _approve(window, qtbot, run_node):
    window.canvas.select([])
    window.canvas.select([run_node])
    [card] = window.run_panel.inspector.cards
    assert card.approve_button.isEnabled()
    qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton)
    assert window.runs.running  # the answer resumed the run


def test_a_resume_that_fails_before_anything_ran_stays_waiting_and_can_be_retried(window, server, run_async, qtbot):
    from studio.runs.records import load_run_record
    from studio.history import RunHistory

    first, run_node = _refund_waiting(window, server, run_async)
    before = RunHistory().get_run(first.run_id)
    assert before.status == "waiting"
    # The API is down for the whole retry budget (5 tries).
    server.fail_next(503, count=5, retry_after_ms=10, path="/responses")
    _approve(window, qtbot, run_node)
    failed = run_async(window.runs.wait(), timeout=60)
    window.run_panel.flush()

    assert failed.status == "waiting" and failed.run_id == first.run_id
    assert "Resuming failed before anything ran" in failed.error["message"]
    assert "server error (503)" in failed.error["message"] or "503" in failed.error["message"]
    assert len([r for r in server.requests if r.api_path == "/responses"]) == 1 + 5
    assert window.canvas.status(run_node) == "waiting"
    assert "Resuming failed" in window.statusBar().currentMessage()
    # Nothing of the run was changed: its history entry and the record `studio resume` reads.
    after = RunHistory().get_run(first.run_id)
    assert after.status == "waiting"
    assert [(n.node_name, n.status) for n in after.nodes] == [(n.node_name, n.status) for n in before.nodes]
    record = load_run_record(first.run_id)
    assert [r["id"] for w in record["waiting"] for r in w["requests"]] == ["call_r1"]

    # The card can be answered again, and this time the run goes on to the end.
    server.script("responses", "Refund of 50 EUR approved and sent.")
    _approve(window, qtbot, run_node)
    resumed = run_async(window.runs.wait(), timeout=60)
    window.run_panel.flush()
    assert resumed.status == "succeeded", resumed.error
    assert resumed.run_id == first.run_id
    assert resumed.nodes[run_node].output["final_output"] == "Refund of 50 EUR approved and sent."
    last = [r for r in server.requests if r.api_path == "/responses"][-1].json
    assert [i["call_id"] for i in last["input"] if isinstance(i, dict) and i.get("type") == "function_call_output"] \
        == ["call_r1"]
    done = RunHistory().get_run(first.run_id)
    assert done.status == "succeeded"
    [run_record] = [n for n in done.nodes if n.node_id == run_node]
    kinds = [s["type"] for s in run_record.steps]
    # the first part's steps, the answer, then what the resumed run did
    assert kinds[:3] == ["model_call", "tool_call", "approval_requested"]
    assert "approval" in kinds and kinds[-1] == "model_call"
    assert run_record.usage["total_tokens"] == sum(s["total_tokens"] for s in run_record.steps
                                                   if s["type"] == "model_call")
    # and the record on disk no longer waits: `studio resume` cannot run the refund twice
    assert not load_run_record(first.run_id).get("waiting")
