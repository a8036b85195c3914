"""Autosave and recovery: unsaved work is written to the state folder's recovery files (never
the user's file) a few seconds after each edit, and offered back after a crash."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .editor_settings import recovery_dir

log = logging.getLogger(__name__)

AUTOSAVE_MS = 3000


class RecoveryMixin:
    """Autosave and recovery of MainWindow (mixed in)."""

    def _recovery_path(self) -> Path:
        return recovery_dir() / f"{self.document.flow.id}.flow.json"

    def _schedule_autosave(self) -> None:
        if self.autosave_enabled and self.document.dirty:
            self._autosave_timer.start()

    def autosave(self) -> Path | None:
        """Write the unsaved document to the recovery folder (not the user's file)."""
        if not self.document.dirty:
            return None
        from studio.flow.io import dump_flow

        path = self._recovery_path()
        meta = {"path": str(self.document.path) if self.document.path else None, "saved_at": time.time()}
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(dump_flow(self.document.flow), encoding="utf-8")
            tmp.replace(path)
            path.with_suffix(".meta").write_text(json.dumps(meta), encoding="utf-8")
        except OSError:
            log.warning("autosave failed", exc_info=True)
            return None
        return path

    def _drop_recovery(self) -> None:
        for suffix in (".json", ".meta"):
            p = self._recovery_path()
            p = p if suffix == ".json" else p.with_suffix(".meta")
            try:
                p.unlink()
            except OSError:
                pass

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest recovery file; True when one was restored."""
        from studio.flow.io import FlowLoadError, parse_flow

        files = sorted(recovery_dir().glob("*.flow.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        if not files:
            return False
        newest = files[0]
        try:
            meta = json.loads(newest.with_suffix(".meta").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest.stat().st_mtime))
        answer = self.ask("Restore unsaved work?",
                          f"Flow Studio closed with unsaved changes ({when}). Restore them?",
                          ["Restore", "Discard"])
        if answer != "Restore":
            for f in files:
                f.unlink(missing_ok=True)
                f.with_suffix(".meta").unlink(missing_ok=True)
            return False
        try:
            data = newest.read_bytes()
            flow = parse_flow(data, str(newest), self.catalog, validate=False)
        except (FlowLoadError, OSError) as exc:
            self.ask("Cannot restore", str(exc), ["OK"])
            return False
        original = Path(meta["path"]) if meta.get("path") else None
        self.document.load(flow, original)
        self._set_trust_source(flow, data)
        self.refresh_side_panels()
        self.document.undo_stack.resetClean()  # restored work is unsaved until the user saves it
        self._update_title()
        self._show_canvas()
        return True
