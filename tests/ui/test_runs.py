"""Runs in the editor: a flow runs on the fake OpenAI server with live badges, the output
inspector shows what a node produced, and approval cards hand the decision to the controller."""

import json

import pytest
from qtpy.QtWidgets import QApplication

from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.engine.events import RunEvent
from studio.flow.models import Endpoint, Flow, Node, Position, Wire


def small_flow() -> Flow:
    start = Node(action="trigger.manual", name="Start", position=Position(x=0, y=0))
    write = Node(action="chat.create_completion", name="Write", position=Position(x=300, y=0),
                 values={"model": "gpt-4o-mini",
                         "messages": [{"role": "user", "content": "Say hello to {{ trigger.topic | default('you') }}"}]})
    check = Node(action="moderation.classify", name="Check", position=Position(x=600, y=0),
                 values={"input": "{{ nodes.Write.output.choices[0].message.content }}"})
    wires = [Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=write.id, port="in")),
             Wire(source=Endpoint(node=write.id, port="output"), target=Endpoint(node=check.id, port="in"))]
    return Flow(name="Hello", nodes=[start, write, check], wires=wires)


@pytest.fixture
def server():
    with FakeOpenAIServer(latency_ms=20) as srv:
        yield srv


def test_run_on_the_fake_server_ends_with_every_badge_succeeded(window, server, run_async):
    window.runs.base_url = server.base_url
    window.document.load(small_flow())
    seen_running = []
    window.runs.event.connect(lambda ev: seen_running.append(ev.node_id) if ev.type == "node_started" else None)
    assert window.run_flow()
    assert not window.act_run.isEnabled() and window.act_stop.isEnabled()
    result = run_async(window.runs.wait())
    assert result.status == "succeeded", result.error
    ids = window.document.node_ids()
    assert {window.canvas.status(nid) for nid in ids} == {"succeeded"}
    assert set(seen_running) == set(ids)
    assert window.act_run.isEnabled() and not window.act_stop.isEnabled()
    # the run panel lists the events with timings and the token usage
    rows = [window.run_panel.events.topLevelItem(i) for i in range(window.run_panel.events.topLevelItemCount())]
    assert any(r.text(2) == "Succeeded" and r.text(3).endswith("ms") or "ms ·" in r.text(3) for r in rows)
    assert any(r.text(2) == "Tokens" for r in rows)
    assert "tokens" in window.run_panel.summary.text()
    # previews under the nodes show readable text, not raw JSON
    write = window.document.flow.node_by_name("Write").id
    assert window.canvas.preview_text(write) and not window.canvas.preview_text(write).startswith("{")

    # open the output inspector on the chat node
    window.inspect_node(write)
    inspector = window.run_panel.inspector
    output = result.nodes[write].output
    assert inspector.value == output
    root = inspector.json_tree.topLevelItem(0)
    assert root.text(0) == "output" and root.childCount() == len(output)
    assert inspector.tabs.currentWidget() is inspector.text_view
    assert output["choices"][0]["message"]["content"] in inspector.text_view.toPlainText()
    inspector.copy_button.click()
    assert json.loads(QApplication.clipboard().text()) == output


def test_run_only_a_node_reuses_earlier_outputs(window, server, run_async):
    window.runs.base_url = server.base_url
    window.document.load(small_flow())
    window.run_flow()
    first = run_async(window.runs.wait())
    check = window.document.flow.node_by_name("Check").id
    window.canvas.select([check])
    assert window.act_run_only.isEnabled()
    assert window.run_selected(from_here=False)
    second = run_async(window.runs.wait())
    assert second.status == "succeeded"
    assert second.nodes[check].status == "succeeded"
    write = window.document.flow.node_by_name("Write").id
    assert second.nodes[write].status == "skipped" and second.nodes[write].reason == "pinned"
    assert first.run_id != second.run_id


def test_failed_node_shows_the_error_with_the_key_redacted(window, server, run_async):
    window.runs.base_url = server.base_url
    flow = small_flow()
    # a node that exists but has not run yet (a missing node is a problem: the run would not start)
    flow.nodes[1].values["temperature"] = "{{ nodes.Check.output }}"
    window.document.load(flow)
    window.run_flow()
    result = run_async(window.runs.wait())
    assert result.status == "failed"
    write = flow.nodes[1].id
    assert window.canvas.status(write) == "failed"
    inspector = window.run_panel.inspector
    assert inspector.tabs.currentWidget() is inspector.error_view
    assert "Check" in inspector.error_view.toPlainText()


def test_redaction_of_request_details():
    from studio.ui.run_panel import redact

    error = {"message": "401 Bearer sk-abcdefghijklmnop rejected",
             "details": {"request": {"headers": {"Authorization": "Bearer sk-abcdefghijklmnop"}, "url": "/v1/x"}}}
    safe = json.dumps(redact(error))
    assert "sk-abcdefghijklmnop" not in safe and "/v1/x" in safe


def test_approve_a_pending_approval_card(window, qtbot):
    window.document.load(small_flow())
    write = window.document.flow.node_by_name("Write").id
    decisions = []
    window.runs.approval_decided.connect(lambda *args: decisions.append(args))
    request = {"id": "call_1", "tool": "delete_files", "arguments": {"path": "/tmp/x"}, "reason": "cleanup"}
    window.run_panel.reset()
    window.run_panel.on_event(RunEvent(type="node_waiting", run_id="r1", node_id=write, node_name="Write",
                                       data={"requests": [request], "duration_ms": 3.0}))
    assert window.canvas.status(write) == "waiting"
    window.inspect_node(write)
    inspector = window.run_panel.inspector
    assert inspector.tabs.currentWidget() is inspector.approvals
    [card] = inspector.cards
    assert "delete_files" in card.findChildren(type(window.status_label))[0].text()
    qtbot.mouseClick(card.approve_button, __import__("qtpy.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    assert decisions == [(write, "call_1", True)]
    assert window.runs.decisions == {(write, "call_1"): True}
    assert not card.approve_button.isEnabled() and card.state.text() == "Approved"


def test_first_welcome_example_runs_on_the_simulated_connection_with_one_click(window, run_async, qtbot):
    from qtpy.QtCore import Qt

    if not window.welcome.run_buttons:
        pytest.skip("no bundled examples in this checkout")
    qtbot.mouseClick(window.welcome.run_buttons[0], Qt.MouseButton.LeftButton)
    assert window.runs.running
    result = run_async(window.runs.wait(), timeout=60)
    assert result.status == "succeeded", result.error
    assert {window.canvas.status(nid) for nid in window.document.node_ids()} == {"succeeded"}
    assert window.document.path is None  # the bundled file is never overwritten by Save


def test_approving_a_real_agent_request_resumes_the_run_in_the_editor(window, server, run_async, qtbot):
    """An agent run pauses for human approval; clicking Approve on the card continues the same run
    from the waiting node, and the approved tool's result reaches the model."""
    from qtpy.QtCore import Qt

    from studio.resources import examples_dir

    example = examples_dir() / "agent-refund-with-approval.flow.json"
    window.runs.base_url = server.base_url
    assert window.open_file(example)
    from studio.connectors.openai.fake_server import tool_call

    server.script("responses", tool_call("approve_refund", {"reason": "broken", "amount": 50}, call_id="call_r1"))
    assert window.run_flow()
    first = run_async(window.runs.wait(), timeout=60)
    assert first.status == "waiting", first.error
    run_node = window.document.flow.node_by_name("Run").id
    assert window.canvas.status(run_node) == "waiting"
    window.inspect_node(run_node)
    [card] = window.run_panel.inspector.cards
    server.script("responses", "Refund of 50 EUR approved and sent.")
    qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton)
    assert window.runs.running  # the decision resumed the run
    resumed = run_async(window.runs.wait(), timeout=60)
    assert resumed.status == "succeeded", resumed.error
    assert resumed.run_id == first.run_id
    assert resumed.nodes[run_node].output["final_output"] == "Refund of 50 EUR approved and sent."
    assert window.canvas.status(run_node) == "succeeded"
    last = [r for r in server.requests if r.path.endswith("/responses")][-1].json
    outputs = [i for i in last["input"] if isinstance(i, dict) and i.get("type") == "function_call_output"]
    assert outputs and outputs[-1]["call_id"] == "call_r1"


def test_a_run_waiting_in_the_editor_can_be_resumed_after_the_editor_is_gone(window, server, run_async, tmp_path):
    """The editor keeps the waiting run's record, so `studio resume` in another process finishes
    it (the approval can come after the app was closed)."""
    import os
    import subprocess
    import sys

    from studio.connectors.openai.fake_server import tool_call
    from studio.runs.records import runs_root
    from studio.resources import examples_dir

    window.runs.base_url = server.base_url
    assert window.open_file(examples_dir() / "agent-refund-with-approval.flow.json")
    server.script("responses", tool_call("approve_refund", {"reason": "broken", "amount": 50}, call_id="call_k1"))
    assert window.run_flow()
    first = run_async(window.runs.wait(), timeout=60)
    assert first.status == "waiting", first.error
    record = json.loads((runs_root() / first.run_id / "run.json").read_text(encoding="utf-8"))
    assert record["waiting"][0]["requests"][0]["id"] == "call_k1"
    server.script("responses", "Refund sent after a restart.")
    done = subprocess.run([sys.executable, "-m", "studio.cli", "resume", first.run_id, "--approve", "call_k1",
                           "--base-url", server.base_url, "--json"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded"
    assert result["nodes"]["Run"]["output"]["final_output"] == "Refund sent after a restart."


def test_a_past_waiting_run_opened_from_the_history_resumes_from_its_card(window, server, run_async, qtbot):
    """After the session that started it is gone, opening the waiting run from the history shows
    its approval card, and approving continues that run."""
    from qtpy.QtCore import Qt

    from studio.connectors.openai.fake_server import tool_call
    from studio.history import RunHistory
    from studio.resources import examples_dir

    window.runs.base_url = server.base_url
    window.runs.record_history = True
    assert window.open_file(examples_dir() / "agent-refund-with-approval.flow.json")
    server.script("responses", tool_call("approve_refund", {"reason": "late", "amount": 5}, call_id="call_h1"))
    assert window.run_flow()
    first = run_async(window.runs.wait(), timeout=60)
    assert first.status == "waiting", first.error
    # forget everything this session knew about the run
    window.runs.last_result = window.runs.last_flow = None
    window.runs.last_outputs = {}
    window.canvas.clear_statuses()
    past = RunHistory().get_run(first.run_id)
    assert past.status == "waiting"
    window.show_past_run(past)
    run_node = window.document.flow.node_by_name("Run").id
    assert window.canvas.status(run_node) == "waiting"
    window.inspect_node(run_node)
    [card] = window.run_panel.inspector.cards
    server.script("responses", "Refund of 5 EUR sent.")
    qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton)
    assert window.runs.running
    resumed = run_async(window.runs.wait(), timeout=60)
    assert resumed.status == "succeeded", resumed.error
    assert resumed.run_id == first.run_id
    assert resumed.nodes[run_node].output["final_output"] == "Refund of 5 EUR sent."
    assert RunHistory().get_run(first.run_id).status == "succeeded"


def test_every_welcome_example_runs_on_the_simulated_connection(window, run_async, qtbot):
    """Open and run ▶ for each example that needs nothing set up on this machine: all green,
    including the one that uploads a data file kept next to the example."""
    from qtpy.QtCore import Qt

    from studio.ui.welcome import example_flows

    examples = example_flows()
    ran = []
    for (path, name, _description), button in zip(examples, window.welcome.run_buttons):
        if "mcp" in path.name:  # needs Node.js and a remote MCP server, and asks for trust
            continue
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert window.runs.running, name
        result = run_async(window.runs.wait(), timeout=60)
        assert result.status in ("succeeded", "waiting"), f"{name}: {result.error}"
        failed = [n.node_name for n in result.nodes.values() if n.status == "failed"]
        assert not failed, f"{name}: {failed}"
        ran.append(path.name)
        window.document.undo_stack.setClean()
    assert "file-upload-list-delete.flow.json" in ran and len(ran) >= 10
