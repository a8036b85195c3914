"""The one storage interface the run service records through, and where a store is opened from a
URL. Every process that records runs (the editor, `studio run`, `studio serve`, each `studio
worker`) opens the same store, so a run started on one is seen and finished on another.

`RunHistory` (SQLite, store.py) is the default for one machine, shared by processes there
through WAL; `PostgresRunHistory` (postgres.py) serves workers on several machines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

from .store import FINAL_STATUSES, NodeRecord, RunHistory, RunRecord

HISTORY_ENV = "FLOW_STUDIO_HISTORY"
"""The store every headless process (`studio run`, `resume`, `serve`, `worker`) records in when
none is given: a URL for open_store; unset, the user's SQLite history."""


@runtime_checkable
class RunStore(Protocol):
    """What recording a run needs; writes are idempotent per run id (a retried run that records
    again replaces its row, it never adds one)."""

    def record_started(self, run_id: str, *, flow_id: str, flow_name: str, flow_path: str | None,
                       trigger: str, payload: Any, started_at: float | None = None, queued: bool = False) -> None: ...

    def record_node(self, run_id: str, node: NodeRecord) -> None: ...

    def record_finished(self, run_id: str, status: str, *, usage: dict[str, Any] | None = None,
                        error: Any = None, nodes: list[NodeRecord] = (), finished_at: float | None = None) -> None: ...

    def mark_interrupted(self) -> int: ...

    def get_run(self, run_id: str) -> RunRecord: ...

    def list_runs(self, flow_id: str | None = None, limit: int = 100) -> list[RunRecord]: ...

    def close(self) -> None: ...


def open_store(url: str | None = None) -> RunStore:
    """The store `url` (default: $FLOW_STUDIO_HISTORY) names: unset or "" is the user's SQLite history; `sqlite:///PATH` (or a
    plain path) another SQLite file; `postgresql://USER@HOST:PORT/DB` a PostgreSQL database.
    ValueError names what is accepted for anything else."""
    url = url or os.environ.get(HISTORY_ENV)
    if not url:
        return RunHistory()
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite://"):]
        if not path or path == "/":
            raise ValueError(f"history store {url!r}: expected sqlite:///PATH/TO/history.sqlite3")
        return RunHistory(Path(path))
    if parsed.scheme in ("postgres", "postgresql"):
        from .postgres import PostgresRunHistory  # loads the driver only for a PostgreSQL store

        return PostgresRunHistory(url)
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # a plain path (a Windows drive letter too)
        return RunHistory(Path(url))
    raise ValueError(f"history store {url!r}: expected sqlite:///PATH, postgresql://USER@HOST:PORT/DB or a file path")


def is_final(status: str | None) -> bool:
    """Whether a run in this status is over (recorded for good, or waiting for a person)."""
    return status in FINAL_STATUSES


__all__ = ["RunStore", "open_store", "is_final"]
