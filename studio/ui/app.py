"""Start the desktop editor: one QApplication, asyncio running on the Qt event loop (qasync) so
runs, model lists and connection tests never block the window, the saved theme, and the files
named on the command line (or the welcome page)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def create_application(argv: list[str] | None = None):
    """The QApplication (reused when one exists, as under pytest-qt)."""
    from qtpy.QtGui import QIcon
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Flow Studio")
    app.setOrganizationName("flow-studio")
    app.setDesktopFileName("flow-studio")
    try:
        from studio.resources import icon_path

        icon = icon_path()
        if Path(icon).exists():
            app.setWindowIcon(QIcon(str(icon)))
    except Exception:  # noqa: BLE001 - an icon is not worth failing start-up for
        pass
    return app


def open_window(files: list[str] | None = None, **options):
    """Build and show the main window with `files` (the first one opened; others imported later)."""
    from .main_window import MainWindow

    window = MainWindow(**options)
    window.show()
    opened = False
    for path in files or []:
        if not opened:
            opened = window.open_file(path, ask_to_save=False)
        else:
            log.info("only one flow per window: %s not opened", path)
    if not opened:
        window.offer_recovery()
    return window


def run_app(files: list[str] | None = None) -> int:
    """The `studio` default command. Returns the process exit code."""
    from .loop import create_event_loop

    try:
        from studio.logs import setup_logging  # type: ignore[attr-defined]

        setup_logging()
    except Exception:  # noqa: BLE001 - logging set-up is optional here
        pass
    app = create_application()
    loop = create_event_loop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    window = open_window(files)
    app.lastWindowClosed.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    del window
    return 0
