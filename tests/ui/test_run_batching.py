"""Runs stay smooth in a large flow: engine events are queued and shown in batches (each badge
set once per batch, with the node's latest status). None of it may change what the user
finally sees."""

from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.engine.events import RunEvent
from studio.flow.models import Endpoint, Flow, Node, Position, Wire
from studio.ui.run_panel import RunPanel


def _ev(kind, node=None, ts=0.0, **data):
    return RunEvent(type=kind, run_id="r1", node_id=node, node_name=node, ts=ts, data=data)


def _rows(panel):
    return [(panel.events.topLevelItem(i).text(1), panel.events.topLevelItem(i).text(2))
            for i in range(panel.events.topLevelItemCount())]


def test_queued_events_show_at_the_flush_with_each_badge_set_once(qtbot):
    panel = RunPanel()
    qtbot.addWidget(panel)
    badges = []
    panel.node_status.connect(lambda nid, status, preview: badges.append((nid, status, preview)))
    panel.reset()
    events = [_ev("run_started", ts=1.0)]
    for n in ("A", "B", "C"):
        events += [_ev("node_queued", n, 1.0), _ev("node_started", n, 1.1)]
    events += [_ev("node_succeeded", "A", 1.2, output_preview='"hello"', duration_ms=5.0),
               _ev("node_failed", "B", 1.3, error={"message": "boom"}),
               _ev("delta", "C", 1.3, text="ignored")]
    for ev in events:
        panel.queue_event(ev)
    assert _rows(panel) == [] and badges == []  # nothing drawn per event
    qtbot.waitUntil(lambda: panel.events.topLevelItemCount() > 0, timeout=2000)
    assert _rows(panel) == [("", "Run started")] + [(n, e) for n in "ABC" for e in ("Queued", "Started")] + \
        [("A", "Succeeded"), ("B", "Failed")]
    # one badge per node with its latest status; the preview is the latest one given
    assert sorted(badges) == [("A", "succeeded", "hello"), ("B", "failed", "boom"), ("C", "running", None)]
    assert panel.nodes["B"]["status"] == "failed" and panel.nodes["C"]["status"] == "running"
    assert "1 failed" in panel.summary.text() and "1 running" in panel.summary.text()


def test_inspector_redraws_only_for_the_node_it_shows(qtbot, monkeypatch):
    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.reset()
    panel.on_event(_ev("node_started", "A", 1.0))
    panel.show_node("A")
    drawn = []
    real = panel.inspector.show_result
    monkeypatch.setattr(panel.inspector, "show_result", lambda *a, **k: (drawn.append(a[0]), real(*a, **k)))
    for i in range(20):
        panel.queue_event(_ev("node_started", f"other{i}", 1.0))
    panel.flush()
    assert drawn == []  # events of other nodes never redraw it
    panel.queue_event(_ev("node_retrying", "A", 1.1, attempt=2, max_tries=3))
    panel.queue_event(_ev("node_succeeded", "A", 1.2, output_preview='"done"'))
    panel.flush()
    assert drawn == ["A"]  # once for the batch, with the final state
    assert panel.inspector.title.text().startswith("A — succeeded")


def test_reset_drops_events_of_the_previous_run(qtbot):
    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.queue_event(_ev("node_started", "A", 1.0))
    panel.reset()
    panel.flush()
    assert panel.events.topLevelItemCount() == 0 and panel.nodes == {}


def _fan_out(n):
    start = Node(id="start", name="Start", action="trigger.manual", position=Position(x=0, y=0))
    chats = [Node(id=f"c{i}", name=f"Chat {i}", action="chat.create_completion", position=Position(x=300, y=120 * i),
                  values={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {i}"}]})
             for i in range(n)]
    wires = [Wire(source=Endpoint(node="start", port="output"), target=Endpoint(node=c.id, port="in")) for c in chats]
    return Flow(name="fan", nodes=[start, *chats], wires=wires)


def test_a_run_ends_with_every_badge_right(window, run_async):
    with FakeOpenAIServer(latency_ms=5) as server:
        window.runs.base_url = server.base_url
        flow = _fan_out(30)
        window.document.load(flow)
        assert window.run_flow()
        result = run_async(window.runs.wait())
        assert result.status == "succeeded", result.error
        assert {window.canvas.status(n.id) for n in flow.nodes} == {"succeeded"}
        listed = [window.run_panel.events.topLevelItem(i).text(2) for i in range(window.run_panel.events.topLevelItemCount())]
        assert listed.count("Succeeded") == len(flow.nodes) and listed[-1] == "Run finished"


def test_a_long_flush_leaves_the_rest_for_the_next_turn_in_order(qtbot, monkeypatch):
    from studio.ui import run_panel as run_panel_module

    monkeypatch.setattr(run_panel_module, "FLUSH_BUDGET_S", 0.0)  # every chunk uses the time up
    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.reset()
    events = [_ev("node_started", f"n{i}", 1.0) for i in range(run_panel_module.FLUSH_CHUNK * 2 + 3)]
    for ev in events:
        panel.queue_event(ev)
    panel.flush()
    assert panel.events.topLevelItemCount() == run_panel_module.FLUSH_CHUNK  # one chunk now
    panel.queue_event(_ev("node_succeeded", "n0", 1.2, output_preview='"x"'))  # queued meanwhile: after the rest
    qtbot.waitUntil(lambda: panel.events.topLevelItemCount() == len(events) + 1, timeout=2000)
    assert [r[0] for r in _rows(panel)] == [f"n{i}" for i in range(len(events))] + ["n0"]
    assert panel.nodes["n0"]["status"] == "succeeded"


def test_the_runs_end_shows_every_queued_event_at_once(qtbot, monkeypatch):
    from studio.engine.executor import RunResult
    from studio.ui import run_panel as run_panel_module

    monkeypatch.setattr(run_panel_module, "FLUSH_BUDGET_S", 0.0)
    panel = RunPanel()
    qtbot.addWidget(panel)
    panel.reset()
    for i in range(run_panel_module.FLUSH_CHUNK * 3):
        panel.queue_event(_ev("node_started", f"n{i}", 1.0))
    panel.on_finished(RunResult(run_id="r1", flow_id="f", flow_name="f", status="succeeded", started_at=1.0,
                                finished_at=2.0, nodes={}))
    assert panel.events.topLevelItemCount() == run_panel_module.FLUSH_CHUNK * 3


def test_a_runs_end_previews_come_in_chunks_and_a_new_run_drops_the_rest(window, monkeypatch, qtbot):
    from studio.ui import canvas as canvas_module

    monkeypatch.setattr(canvas_module, "FINAL_CHUNK", 2)
    flow = _fan_out(5)
    window.document.load(flow)
    canvas = window.canvas
    ends = [(n.id, "succeeded", {"choices": [{"message": {"content": f"answer {n.id}"}}]}) for n in flow.nodes[1:]]
    from studio.ui.run_panel import preview_from_output

    canvas.show_final(ends, preview_from_output)
    assert [canvas.status(n.id) for n in flow.nodes[1:]] == ["succeeded"] * 2 + [""] * 3  # the first chunk now
    qtbot.waitUntil(lambda: canvas.status("c4") == "succeeded", timeout=2000)
    assert canvas.preview_text("c4") == "answer c4"
    canvas.show_final(ends, preview_from_output)
    canvas.clear_statuses()  # another run starts before the rest is shown
    qtbot.wait(50)
    assert {canvas.status(n.id) for n in flow.nodes} == {""} and canvas.preview_text("c4") == ""


def test_the_same_preview_again_is_not_laid_out_again(window, monkeypatch):
    from studio.ui.canvas_items import PreviewLine

    flow = _fan_out(1)
    window.document.load(flow)
    canvas = window.canvas
    laid_out = []
    real = PreviewLine.setText
    monkeypatch.setattr(PreviewLine, "setText", lambda item, text: (laid_out.append(text), real(item, text)))
    canvas.set_status("c0", "succeeded", "hello")
    canvas.set_status("c0", "succeeded", "hello")  # a run's end gives the preview its last event gave
    assert laid_out == ["hello"] and canvas.preview_text("c0") == "hello"
    canvas.clear_statuses()
    canvas.set_status("c0", "succeeded", "hello")  # after a clear it shows again
    assert canvas.preview_text("c0") == "hello" and laid_out[-1] == "hello" and len(laid_out) == 3
