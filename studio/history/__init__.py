"""Run history: every run (editor, CLI, schedule, webhook, chat, queue workers) recorded in one
store (`storage.RunStore`; SQLite by default, `store.RunHistory`)."""

from .storage import RunStore, open_store
from .store import NodeRecord, RunHistory, RunRecord

__all__ = ["NodeRecord", "RunHistory", "RunRecord", "RunStore", "open_store"]
