"""The editor's own settings between sessions (theme, recent files, window layout) and the
folders it starts in: kept in the state folder, never in a flow file."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _state_file(name: str) -> Path:
    from studio.paths import state_dir

    return state_dir() / name


def load_settings() -> dict[str, Any]:
    try:
        return json.loads(_state_file("editor.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_settings(settings: dict[str, Any]) -> None:
    try:
        _state_file("editor.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    except OSError:
        log.warning("could not save editor settings", exc_info=True)


def documents_dir() -> Path:
    """The user's documents folder (the home folder when there is none)."""
    from qtpy.QtCore import QStandardPaths

    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def recovery_dir() -> Path:
    folder = _state_file("recovery")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
