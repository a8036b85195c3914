"""Where Flow Studio keeps its files. One place decides, so a test or a portable install can move
everything at once by setting FLOW_STUDIO_HOME (then config/, data/, state/, cache/, logs/ under it);
otherwise the platform's usual folders for an app named "flow-studio". Folders are made on demand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import platformdirs

APP_NAME = "flow-studio"
HOME_ENV = "FLOW_STUDIO_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _folder(sub: str, platform_path: Callable[[str], str], make: bool = True) -> Path:
    """`sub` under FLOW_STUDIO_HOME, else the platform's folder (asked only then: `data_dir` is
    named by every run, and platformdirs' answer costs more than the rest of that)."""
    home = _home()
    path = home / sub if home is not None else Path(platform_path(APP_NAME, appauthor=False))
    if make:
        path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Settings the user chose: connections (no secrets), trust list, preferences."""
    return _folder("config", platformdirs.user_config_dir)


def data_dir(*, make: bool = True) -> Path:
    """Things the user would miss: run history, saved runs. `make=False` only names the folder
    (no file-system call: every run names it for its permission checks)."""
    return _folder("data", platformdirs.user_data_dir, make)


def state_dir() -> Path:
    """Session state: window layout, recent files."""
    return _folder("state", platformdirs.user_state_dir)


def cache_dir() -> Path:
    """Anything that can be rebuilt."""
    return _folder("cache", platformdirs.user_cache_dir)


def log_dir() -> Path:
    return _folder("logs", platformdirs.user_log_dir)
