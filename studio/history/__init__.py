"""Run history: every run (editor, CLI, schedule, webhook, chat) recorded in a local SQLite file."""

from .store import NodeRecord, RunHistory, RunRecord

__all__ = ["NodeRecord", "RunHistory", "RunRecord"]
