"""What keeps a run's status updates light on the Qt thread keeps their behaviour: full garbage
collections wait for the end of a run and still free cyclic garbage after it; a badge shows each
status in its colour, sized to its text; a preview elided from a prefix reads as the whole text
elided."""

from __future__ import annotations

import gc
import weakref

from qtpy.QtCore import Qt
from qtpy.QtGui import QColor, QFont, QFontMetrics, QFontMetricsF

from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.ui.canvas_labels import elided_line
from studio.ui.collector import DEFERRED, RunCollector
from studio.ui.theme import STATUS_COLORS
from test_run_batching import _fan_out  # the same 30-node fan-out


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_full_collections_wait_for_the_end_of_a_run_then_free_its_cycles(qtbot):
    before = gc.get_threshold()
    collector = RunCollector()
    collector.run_started()
    assert gc.get_threshold() == (before[0], before[1], DEFERRED) and collector.deferring
    collector.run_started()  # a nested start changes nothing
    cycle = _Cycle()
    alive = weakref.ref(cycle)
    gc.collect(1)
    gc.collect(1)  # it survived the young generations: now only a full pass can free it
    del cycle
    gc.collect(1)
    assert alive() is not None  # cyclic garbage in the oldest generation, waiting
    kept = [_Cycle()]  # alive at the end of the run
    collector.run_finished()
    assert gc.get_threshold() == before and not collector.deferring
    assert alive() is not None  # not in the middle of the run's last callback ...
    qtbot.waitUntil(lambda: alive() is None)  # ... but on the next idle turn
    # what survived the pass is frozen: tracked, but in no generation that collections walk
    assert gc.is_tracked(kept) and not any(o is kept for g in range(3) for o in gc.get_objects(g))
    gc.unfreeze()


def test_a_run_in_the_editor_defers_and_then_restores_the_collector(window, run_async):
    before = gc.get_threshold()
    seen = []
    with FakeOpenAIServer(latency_ms=5) as server:
        window.runs.base_url = server.base_url
        window.document.load(_fan_out(5))
        window.runs.event.connect(lambda _ev: seen.append(gc.get_threshold()[2]))
        assert window.run_flow()
        assert run_async(window.runs.wait()).status == "succeeded"
    assert seen and set(seen) == {DEFERRED}  # every event of the run came while full passes waited
    assert gc.get_threshold() == before
    window.runs.close_pool()


def test_badges_show_each_status_in_its_colour_sized_to_the_text(window):
    window.document.load(_fan_out(2))
    canvas = window.canvas
    nid = window.document.flow.nodes[1].id
    canvas.set_status(nid, "running")
    badge = canvas._badges[nid]
    metrics = QFontMetricsF(badge.label.font())
    for status in ("running", "succeeded", "failed", "running"):
        canvas.set_status(nid, status)
        pill = badge.path().boundingRect()
        assert badge.isVisible() and badge.label.text() == status
        assert badge.brush().color() == QColor(STATUS_COLORS[status])
        assert abs(pill.width() - (metrics.horizontalAdvance(status) + 16)) < 0.01
        assert pill.right() == badge.WIDTH and pill.height() == badge.HEIGHT  # right-aligned, as before
        assert pill.contains(badge.label.mapRectToParent(badge.label.boundingRect()).center())
    canvas.clear_statuses()
    assert not badge.isVisible()
    canvas.set_status(nid, "running")  # shown again after a clear
    assert badge.isVisible() and badge.label.text() == "running"


def test_a_preview_elided_from_its_prefix_reads_as_the_whole_text_elided(qapp):
    font = QFont()
    font.setPointSizeF(7.5)
    metrics = QFontMetrics(font)
    texts = [
        "", "short", "  spaced \n\t out   text  ", '{"id": "chatcmpl-1", "choices": [' * 60,
        "W" * 500, "i" * 500, "word " * 300, "a\u200bb" * 400, "x" * 181 + "     " + "y" * 40,
    ]
    for width in (40, 120, 181, 400):
        for text in texts:
            whole = metrics.elidedText(" ".join(text.split()), Qt.TextElideMode.ElideRight, width)
            assert elided_line(text, metrics, width) == whole, (text[:30], width)


def test_zoomed_far_out_the_preview_and_badge_text_hide_with_the_node_labels(window, qtbot):
    window.document.load(_fan_out(2))
    window._show_canvas()
    canvas = window.canvas
    nid = window.document.flow.nodes[1].id
    canvas.set_status(nid, "succeeded", "Hello there")
    badge, preview = canvas._badges[nid], canvas._previews[nid]
    canvas.set_zoom_percent(100)
    canvas.centre_on(nid)
    qtbot.waitUntil(lambda: preview.isVisible())
    assert badge.label.isVisible() and not canvas.view_of(nid).view._proxy_mode
    canvas.set_zoom_percent(10)  # the node is drawn as a plain box: NodeGraphQt's proxy mode
    qtbot.waitUntil(lambda: canvas.view_of(nid).view._proxy_mode)
    assert not preview.isVisible() and not badge.label.isVisible()
    assert badge.isVisible() and canvas.preview_text(nid) == "Hello there"  # the pill and the text stay
    canvas.set_status(nid, "failed", "Boom")  # a status shown meanwhile hides its text too
    assert not preview.isVisible() and preview.text() == "Hello there"  # kept, elided when it shows
    assert canvas.preview_text(nid) == "Boom"
    canvas.set_status(nid, "failed", "x" * 2000)
    long = canvas.preview_text(nid)
    assert long.endswith("…") and len(long) < 400
    canvas.set_status(nid, "failed", "Boom")
    canvas.set_zoom_percent(100)
    canvas.centre_on(nid)
    qtbot.waitUntil(lambda: preview.isVisible() and badge.label.isVisible())
    assert preview.text() == "Boom" and badge.label.text() == "failed"
    canvas.clear_statuses()
    assert not preview.isVisible() and canvas.preview_text(nid) == ""
