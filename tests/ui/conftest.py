"""GUI test set-up: one qasync loop on the pytest-qt QApplication, and a main window whose modal
questions are answered by the test instead of a person."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(scope="session")
def qasync_loop(qapp):
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    try:
        loop.close()
    except RuntimeError:
        pass


@pytest.fixture
def run_async(qasync_loop):
    """Run a coroutine on the Qt loop (Qt events keep flowing while it waits)."""
    asyncio.set_event_loop(qasync_loop)

    def run(coro, timeout: float = 30.0):
        return qasync_loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return run


@pytest.fixture
def window(qtbot, qasync_loop):
    from studio.ui.main_window import MainWindow

    win = MainWindow(record_history=False, autosave=False, theme="dark")
    win.answers = []  # what the test wants the next questions answered with
    win.asked = []

    def ask(title, text, buttons):
        win.asked.append((title, text))
        return win.answers.pop(0) if win.answers else buttons[-1]

    win.ask = ask
    # The offscreen screen is 800x800, so the window would open small there (it fits the screen);
    # the tests drive it at a desktop's size.
    win.resize(1440, 900)
    win.size_docks()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.document.undo_stack.setClean()  # no "save changes?" on teardown


@pytest.fixture
def artifacts_dir() -> Path:
    """Screenshots go here: $FLOW_STUDIO_ARTIFACTS or tests/artifacts (gitignored)."""
    root = Path(os.environ.get("FLOW_STUDIO_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts")
    root.mkdir(parents=True, exist_ok=True)
    return root
