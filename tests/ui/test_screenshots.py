"""Renders the main window (dark and light, a flow mid-run and after the run, and the welcome
page) to PNG files for people to look at. With FLOW_STUDIO_DOCS_SCREENSHOT=1 the dark mid-run
view also replaces docs/screenshot.png (README's picture); otherwise the checkout is left alone."""

import asyncio
import os
from pathlib import Path

from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.resources import examples_dir

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _grab(window, path: Path) -> Path:
    window.repaint()
    image = window.grab()
    assert not image.isNull() and image.width() >= 1200
    assert image.save(str(path))
    return path


def test_render_main_window(window, run_async, artifacts_dir, qtbot):
    window.resize(1440, 900)
    _grab(window, artifacts_dir / "welcome-dark.png")
    example = examples_dir() / "chat-then-moderation.flow.json"
    if example.exists():
        assert window.open_file(example)
    else:  # a checkout without the examples still renders a flow
        from test_runs import small_flow

        window.document.load(small_flow())
        window._show_canvas()
    window.canvas.fit()
    write = next(n.id for n in window.document.flow.nodes if n.action == "chat.create_completion")
    window.canvas.select([write])
    with FakeOpenAIServer(latency_ms=700) as server:
        window.runs.base_url = server.base_url
        assert window.run_flow()

        async def until_running():
            while window.canvas.status(write) != "running":
                await asyncio.sleep(0.02)

        run_async(until_running())
        mid = _grab(window, artifacts_dir / "main-dark-mid-run.png")
        if os.environ.get("FLOW_STUDIO_DOCS_SCREENSHOT") == "1":
            _grab(window, DOCS / "screenshot.png")
        result = run_async(window.runs.wait())
    assert result.status == "succeeded"
    window.inspect_node(write)
    _grab(window, artifacts_dir / "main-dark-after-run.png")
    window.set_theme("light")
    light = _grab(window, artifacts_dir / "main-light-after-run.png")
    window.set_theme("dark")
    assert mid.stat().st_size > 10_000 and light.stat().st_size > 10_000


def _docs_copy(window, name: str, artifacts_dir: Path) -> Path:
    path = _grab(window, artifacts_dir / name)
    if os.environ.get("FLOW_STUDIO_DOCS_SCREENSHOT") == "1":
        _grab(window, DOCS / name)
    return path


def test_render_groups_notes_and_add_next(window, artifacts_dir, qtbot):
    """The user guide's picture of a group, a note being written in place and the "+" of add-next."""
    from studio.flow.models import Endpoint, Wire

    window.resize(1280, 800)
    window.size_docks()
    canvas, doc = window.canvas, window.document
    window._show_canvas()
    t = canvas.add_action("trigger.manual", (0, 0))
    draft = canvas.add_action("chat.create_completion", (320, -60))
    review = canvas.add_action("chat.create_completion", (320, 120))
    doc.rename_node(draft, "Draft the weekly customer summary for the support team")
    doc.rename_node(review, "Review")
    for a, b in ((t, draft), (draft, review)):
        doc.connect(Wire(source=Endpoint(node=a, port="output"), target=Endpoint(node=b, port="in")))
    canvas.select([draft, review])
    canvas.add_group("Writing")
    note = canvas.add_note("")
    doc.set_note(note, position=doc.flow.notes[0].position.model_copy(update={"x": -40, "y": 260}))
    canvas.select([])
    canvas.fit()
    canvas.select([review])
    canvas._notes[note].text.start()
    qtbot.keyClicks(canvas.viewer, "Check the tone before sending")
    qtbot.wait(50)
    image = _docs_copy(window, "editor-groups.png", artifacts_dir)
    canvas._notes[note].text.finish()
    assert image.stat().st_size > 10_000


def test_render_broken_parts(window, artifacts_dir, qtbot):
    """The user guide's picture of an unknown action, a wire to a missing port and one to a missing
    node, drawn in red and listed in Problems."""
    from test_editor_finish import _broken_flow

    window.resize(1280, 800)
    window.size_docks()
    window.document.load(_broken_flow())
    window._show_canvas()
    window.refresh_side_panels()
    window.problems_dock.show()
    window.problems_dock.raise_()
    window.canvas.fit()
    qtbot.wait(50)
    image = _docs_copy(window, "editor-broken.png", artifacts_dir)
    assert image.stat().st_size > 10_000
