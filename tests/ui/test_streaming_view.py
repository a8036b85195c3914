"""Streamed text is shown as it arrives: the running node's preview on the canvas shows the end of
the text so far, the inspector's Text tab shows all of it until the run's result brings the whole output."""

from __future__ import annotations

from studio.engine.events import RunEvent


def _ev(kind, data=None):
    return RunEvent(type=kind, run_id="r1", node_id="n1", node_name="Write", data=data or {})


def _running_panel(qtbot):
    """A run panel showing node n1 running, and the list of (node, status, preview) it signals."""
    from studio.ui.run_panel import RunPanel

    panel = RunPanel()
    qtbot.addWidget(panel)
    shown = []
    panel.node_status.connect(lambda nid, status, preview: shown.append((nid, status, preview)))
    panel.reset()
    panel.on_events([_ev("node_queued"), _ev("node_started")])
    panel.show_node("n1")
    return panel, shown


def test_deltas_show_on_the_node_and_in_the_inspector(qtbot):
    panel, shown = _running_panel(qtbot)
    panel.on_events([_ev("delta", {"text": "Tide pools "}), _ev("delta", {"text": "hold life."})])
    assert shown[-1] == ("n1", "running", "…Tide pools hold life.")
    assert panel.inspector.text_view.toPlainText() == "Tide pools hold life."
    assert panel.inspector.tabs.currentWidget() is panel.inspector.text_view
    rows = panel.events.topLevelItemCount()
    panel.on_events([_ev("delta", {"text": " More."})])
    assert panel.events.topLevelItemCount() == rows  # no row per piece
    panel.on_events([_ev("node_succeeded", {"output": "Tide pools hold life. More. (final)",
                                            "output_preview": "Tide pools hold life. More. (final)",
                                            "duration_ms": 5.0})])
    assert shown[-1][1] == "succeeded"
    # until the run's result arrives, the inspector keeps the text that streamed
    assert panel.inspector.text_view.toPlainText() == "Tide pools hold life. More."


def test_a_stream_tried_again_starts_its_text_over(qtbot):
    """A broken stream is tried again (studio/connectors/openai/stream_retry.py): the `restart`
    delta drops the half answer, so the text is not shown twice."""
    panel, shown = _running_panel(qtbot)
    panel.on_events([_ev("delta", {"text": "Tide pools "})])
    panel.on_events([_ev("delta", {"text": "", "restart": True}), _ev("delta", {"text": "Tide pools "}),
                     _ev("delta", {"text": "hold life."})])
    assert panel.inspector.text_view.toPlainText() == "Tide pools hold life."
    assert shown[-1] == ("n1", "running", "…Tide pools hold life.")


def test_a_long_node_name_is_cut_in_the_inspector_header_and_copy_json_stays_in_view(qtbot):
    from studio.ui.inspector import OutputInspector

    inspector = OutputInspector()
    qtbot.addWidget(inspector)
    inspector.resize(320, 300)
    inspector.show()
    qtbot.waitExposed(inspector)
    name = "Summarise every customer review of the last quarter and draft a reply to each " * 2
    inspector.show_result(name, "succeeded", output={"ok": True})
    qtbot.wait(10)
    title = inspector.title
    assert title.text() == f"{name} — succeeded" and title.toolTip() == title.text()
    assert title.shown_text().endswith("…") and len(title.shown_text()) < len(title.text())
    button = inspector.copy_button.geometry()
    assert button.right() <= inspector.width() and button.width() >= inspector.copy_button.sizeHint().width()
