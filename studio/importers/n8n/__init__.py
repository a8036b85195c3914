"""`studio import n8n`: an n8n workflow export as a Flow Studio flow (see docs/import-n8n.md)."""

from __future__ import annotations

import json
from pathlib import Path

from .convert import ImportResult, convert
from .workflow import NotAnN8nWorkflow

__all__ = ["ImportResult", "NotAnN8nWorkflow", "convert", "import_file"]

MAX_BYTES = 64 * 1024 * 1024


def import_file(path: str | Path) -> ImportResult:
    """Read and convert an n8n workflow file; NotAnN8nWorkflow when it is not one (or unreadable)."""
    source = Path(path)
    try:
        if source.stat().st_size > MAX_BYTES:
            raise NotAnN8nWorkflow(f"{source}: larger than 64 MB; not an n8n workflow export")
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotAnN8nWorkflow(f"{source}: cannot be read as UTF-8 text ({exc})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotAnN8nWorkflow(f"{source}: not JSON ({exc})") from None
    try:
        return convert(data)
    except NotAnN8nWorkflow as exc:
        raise NotAnN8nWorkflow(f"{source}: {exc}") from None
