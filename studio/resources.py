"""Where the app's bundled files live (example flows, icons): beside the package in a source
checkout, or inside the PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def examples_dir() -> Path:
    return resources_dir() / "examples"


def icon_path(size: int | None = None) -> Path:
    icons = resources_dir() / "icons"
    return icons / (f"flow-studio-{size}.png" if size else "flow-studio.svg")
