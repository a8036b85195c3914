"""The history panel on a real run history in a temporary folder: runs of the shown flow only,
newest first, with trigger, status, duration and tokens; open, run again, pin/unpin, delete and
retention act on the database."""

import json
import time

import pytest
from qtpy.QtCore import Qt

from studio.history import NodeRecord, RunHistory
from studio.ui.history_panel import HistoryPanel


@pytest.fixture
def history(tmp_path):
    h = RunHistory(tmp_path / "history.sqlite3")
    yield h
    h.close()


def record(history, run_id, *, flow_id="flow-1", trigger="editor", status="succeeded", started=1000.0,
           seconds=1.5, payload=None, tokens=30, nodes=None):
    history.record_started(run_id, flow_id=flow_id, flow_name="Hello", flow_path=None, trigger=trigger,
                           payload=payload, started_at=started)
    nodes = nodes if nodes is not None else [
        NodeRecord(node_id="n-start", node_name="Start", status="succeeded", output=payload, duration_ms=1.0),
        NodeRecord(node_id="n-write", node_name="Write", status="succeeded", duration_ms=1200.0,
                   output={"choices": [{"message": {"content": f"hello from {run_id}"}}]},
                   usage={"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": tokens}),
    ]
    history.record_finished(run_id, status, usage={"total_tokens": tokens}, nodes=nodes, finished_at=started + seconds)


@pytest.fixture
def panel(qtbot, history):
    p = HistoryPanel(history)
    qtbot.addWidget(p)
    p.confirm = lambda title, text: True
    p.resize(800, 600)
    p.show()
    qtbot.waitExposed(p)
    return p


def cells(panel):
    return [[panel.runs.topLevelItem(i).text(c) for c in range(5)] for i in range(panel.runs.topLevelItemCount())]


def test_lists_the_runs_of_the_flow_newest_first_with_columns(panel, history):
    record(history, "r-old", trigger="cli", started=1000.0, seconds=0.25, tokens=12)
    record(history, "r-new", trigger="chat", status="failed", started=2000.0, seconds=2.5, tokens=40)
    record(history, "r-other-flow", flow_id="flow-2", started=3000.0)
    panel.set_flow("flow-1")
    assert panel.run_ids() == ["r-new", "r-old"]
    rows = cells(panel)
    assert rows[0][1:] == ["chat", "failed", "2.50 s", "40"]
    assert rows[1][1:] == ["cli", "succeeded", "250 ms", "12"]
    assert rows[1][0] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1000.0))
    assert panel.summary.text().startswith("2 run(s)")
    # a run still going shows no duration yet
    history.record_started("r-running", flow_id="flow-1", flow_name="Hello", flow_path=None,
                           trigger="webhook", payload=None, started_at=2500.0)
    panel.refresh()
    assert cells(panel)[0][1:4] == ["webhook", "running", "—"]


def test_open_a_past_run_emits_the_record_with_its_nodes(panel, history, qtbot):
    record(history, "r1", payload={"topic": "tides"})
    panel.set_flow("flow-1", {"n-write": "Write it"})
    opened = []
    panel.run_opened.connect(opened.append)
    assert not panel.open_button.isEnabled()
    panel.select_run("r1")
    assert [panel.nodes.topLevelItem(i).text(0) for i in range(panel.nodes.topLevelItemCount())] == \
        ["Start", "Write it"]  # labelled with the node's current name
    item = panel.runs.topLevelItem(0)
    centre = panel.runs.visualItemRect(item).center()
    qtbot.mouseClick(panel.runs.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # a double-click starts with a press
    qtbot.mouseDClick(panel.runs.viewport(), Qt.MouseButton.LeftButton,
                      pos=panel.runs.visualItemRect(item).center())
    assert len(opened) == 1
    run = opened[0]
    assert run.run_id == "r1" and {n.node_id for n in run.nodes} == {"n-start", "n-write"}
    write = next(n for n in run.nodes if n.node_id == "n-write")
    assert write.output["choices"][0]["message"]["content"] == "hello from r1"


def test_run_again_emits_the_payload(panel, history, qtbot):
    record(history, "r1", payload={"topic": "tides", "n": 3})
    panel.set_flow("flow-1")
    payloads = []
    panel.rerun_requested.connect(payloads.append)
    panel.select_run("r1")
    qtbot.mouseClick(panel.rerun_button, Qt.MouseButton.LeftButton)
    assert payloads == [{"topic": "tides", "n": 3}]


def test_pin_and_unpin_a_nodes_output(panel, history, qtbot):
    record(history, "r1")
    failed = [NodeRecord(node_id="n-write", node_name="Write", status="failed", error={"message": "429"})]
    record(history, "r2", started=2000.0, nodes=failed)
    panel.set_flow("flow-1")
    changes = []
    panel.pins_changed.connect(changes.append)
    # a failed node has no output to pin
    panel.select_run("r2")
    panel.select_node("n-write")
    assert not panel.pin_button.isEnabled() and not panel.pin_selected()
    panel.select_run("r1")
    panel.select_node("n-write")
    assert panel.pin_button.isEnabled() and not panel.unpin_button.isEnabled()
    qtbot.mouseClick(panel.pin_button, Qt.MouseButton.LeftButton)
    expected = {"choices": [{"message": {"content": "hello from r1"}}]}
    assert history.pinned_outputs("flow-1") == {"n-write": expected}
    assert changes == [{"n-write": expected}]
    # the selection survives the refresh and the node shows as pinned
    assert panel.selected_run_ids() == ["r1"]
    row = panel.nodes.selectedItems()[0]
    assert row.text(4) == "pinned" and "1 pinned output" in panel.summary.text()
    assert panel.unpin_button.isEnabled()
    # pins belong to the flow: another flow's history has none
    assert history.pinned_outputs("flow-2") == {}
    qtbot.mouseClick(panel.unpin_button, Qt.MouseButton.LeftButton)
    assert history.pinned_outputs("flow-1") == {}
    assert changes[-1] == {}
    assert panel.nodes.selectedItems()[0].text(4) == ""


def test_delete_selected_runs_asks_first(panel, history):
    for i in range(3):
        record(history, f"r{i}", started=1000.0 + i)
    panel.set_flow("flow-1")
    deleted = []
    panel.runs_deleted.connect(deleted.append)
    panel.runs.topLevelItem(0).setSelected(True)
    panel.runs.topLevelItem(2).setSelected(True)
    assert sorted(panel.selected_run_ids()) == ["r0", "r2"]
    panel.confirm = lambda title, text: False
    assert panel.delete_selected() == 0
    assert len(history.list_runs("flow-1")) == 3
    asked = []
    panel.confirm = lambda title, text: asked.append(text) or True
    assert panel.delete_selected() == 2
    assert "these 2 runs" in asked[0]
    assert [r.run_id for r in history.list_runs("flow-1")] == ["r1"]
    assert panel.run_ids() == ["r1"] and sorted(deleted[0]) == ["r0", "r2"]
    with pytest.raises(KeyError):
        history.get_run("r0")


def test_retention_keeps_the_newest_runs_and_is_remembered(panel, history, qtbot):
    now = 100 * 86400.0
    for i in range(5):
        record(history, f"r{i}", started=now - (4 - i) * 3600)  # r4 newest
    record(history, "ancient", started=now - 40 * 86400)
    panel.set_flow("flow-1")
    assert len(panel.run_ids()) == 6
    panel.keep_runs.setChecked(True)
    panel.max_runs.setValue(3)
    panel.keep_days.setChecked(True)
    panel.max_days.setValue(30)
    assert panel.apply_retention(save=True, now=now) == 3
    assert panel.run_ids() == ["r4", "r3", "r2"]
    # the setting is saved and a new panel starts with it
    other = HistoryPanel(history)
    qtbot.addWidget(other)
    assert other.retention() == {"max_runs_per_flow": 3, "max_age_days": 30.0}
    from studio.ui.history_panel import retention_path

    assert json.loads(retention_path().read_text()) == {"max_runs_per_flow": 3, "max_age_days": 30.0}
    # switched off, nothing is deleted
    other.keep_runs.setChecked(False)
    other.keep_days.setChecked(False)
    assert other.apply_retention(now=now + 365 * 86400) == 0
    assert len(history.list_runs("flow-1")) == 3


def test_history_survives_a_new_panel_on_the_same_file(tmp_path, qtbot):
    path = tmp_path / "h.sqlite3"
    first = RunHistory(path)
    record(first, "r1")
    first.close()
    again = RunHistory(path)
    panel = HistoryPanel(again)
    qtbot.addWidget(panel)
    panel.set_flow("flow-1")
    assert panel.run_ids() == ["r1"]
    again.close()


# -- in the main window ---------------------------------------------------------------------------------


from test_runs import small_flow  # noqa: E402 - the editor tests' shared three-node flow


def test_editor_runs_are_listed_a_pinned_output_is_reused_and_a_past_run_opens(window, run_async):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    window.runs.record_history = True
    flow = small_flow()
    window.document.load(flow)
    write = flow.node_by_name("Write").id
    with FakeOpenAIServer(latency_ms=0) as server:
        window.runs.base_url = server.base_url
        assert window.run_flow()
        first = run_async(window.runs.wait())
        assert first.status == "succeeded"
        panel = window.history_panel
        assert panel.flow_id == flow.id and panel.run_ids() == [first.run_id]
        assert panel.runs.topLevelItem(0).text(1) == "editor"
        panel.select_run(first.run_id)
        panel.select_node(write)
        assert panel.pin_selected()
        chats_before = len([r for r in server.requests if r.path.endswith("/chat/completions")])
        assert window.run_flow()
        second = run_async(window.runs.wait())
        assert second.status == "succeeded"
        assert second.nodes[write].status == "skipped" and second.nodes[write].reason == "pinned"
        assert second.nodes[write].output == first.nodes[write].output
        # no request for the pinned node reached the server; the node after it ran on the pinned value
        assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == chats_before
        assert second.nodes[flow.node_by_name("Check").id].status == "succeeded"
    assert panel.run_ids() == [second.run_id, first.run_id]

    # open the first run: its badges and outputs come back
    window.canvas.clear_statuses()
    panel.select_run(first.run_id)
    opened = panel.open_selected()
    assert opened.run_id == first.run_id
    assert {window.canvas.status(nid) for nid in window.document.node_ids()} == {"succeeded"}
    window.inspect_node(write)
    assert window.run_panel.inspector.value == first.nodes[write].output
    assert "Run succeeded" in window.run_panel.summary.text()


def test_run_again_uses_the_recorded_payload(window, run_async):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    window.runs.record_history = True
    flow = small_flow()
    window.document.load(flow)
    window.refresh_side_panels()
    window.history_panel.history.record_started("old", flow_id=flow.id, flow_name=flow.name, flow_path=None,
                                                trigger="webhook", payload={"topic": "tides"}, started_at=1000.0)
    window.history_panel.history.record_finished("old", "succeeded", finished_at=1001.0)
    window.history_panel.refresh()
    window.history_panel.select_run("old")
    with FakeOpenAIServer(latency_ms=0) as server:
        window.runs.base_url = server.base_url
        assert window.history_panel.rerun_selected()
        result = run_async(window.runs.wait())
        body = next(r.json for r in server.requests if r.path.endswith("/chat/completions"))
    assert result.status == "succeeded"
    assert body["messages"][0]["content"] == "Say hello to tides"


def test_selecting_a_run_for_the_user_ignores_a_held_ctrl(panel, history, qtbot):
    """A run chosen by the editor (after a run, from the Tests tab) is selected even while the
    user holds Ctrl, which would otherwise toggle the row off again."""
    record(history, "r1")
    record(history, "r2")
    panel.set_flow("flow-1", {})
    panel.show()
    qtbot.keyPress(panel.runs, Qt.Key.Key_Control, Qt.KeyboardModifier.ControlModifier)
    try:
        assert panel.select_run("r1")
        assert panel.selected_run_ids() == ["r1"]
        assert panel.select_run("r2")
        assert panel.selected_run_ids() == ["r2"] and panel.test_button.isEnabled()
    finally:
        qtbot.keyRelease(panel.runs, Qt.Key.Key_Control)
