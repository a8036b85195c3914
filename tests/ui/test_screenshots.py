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
