"""The run history on PostgreSQL, for workers on several machines (docs/scale-out.md): the same
tables and the same `RunStore` behaviour as the SQLite history (store.py), one transaction per
write. Values are JSON text as there; `open_store("postgresql://...")` opens it."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from .store import FINAL_STATUSES, QUEUE_OWNER, NodeRecord, RunRecord, _dump, _host, _load, pid_alive

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, flow_name TEXT NOT NULL, flow_path TEXT,
    trigger TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, started_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION, usage TEXT NOT NULL DEFAULT '{}', error TEXT, owner_pid INTEGER, owner_host TEXT);
CREATE INDEX IF NOT EXISTS runs_by_flow ON runs(flow_id, started_at DESC);
CREATE TABLE IF NOT EXISTS nodes (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, node_id TEXT NOT NULL,
    node_name TEXT NOT NULL, status TEXT NOT NULL, inputs TEXT, output TEXT, error TEXT,
    started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION, duration_ms DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0, usage TEXT NOT NULL DEFAULT '{}', steps TEXT,
    PRIMARY KEY (run_id, node_id));
CREATE TABLE IF NOT EXISTS pinned (
    flow_id TEXT NOT NULL, node_id TEXT NOT NULL, output TEXT NOT NULL, pinned_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (flow_id, node_id));
"""
RUN_COLUMNS = "run_id, flow_id, flow_name, flow_path, trigger, payload, status, started_at, finished_at, usage, error"
_UPSERT_NODE = (
    "INSERT INTO nodes (run_id, node_id, node_name, status, inputs, output, error, started_at, finished_at,"
    " duration_ms, attempts, usage, steps) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    " ON CONFLICT (run_id, node_id) DO UPDATE SET node_name=EXCLUDED.node_name, status=EXCLUDED.status,"
    " inputs=EXCLUDED.inputs, output=EXCLUDED.output, error=EXCLUDED.error, started_at=EXCLUDED.started_at,"
    " finished_at=EXCLUDED.finished_at, duration_ms=EXCLUDED.duration_ms, attempts=EXCLUDED.attempts,"
    " usage=EXCLUDED.usage, steps=EXCLUDED.steps")


def _node_row(run_id: str, node: NodeRecord) -> tuple:
    return (run_id, node.node_id, node.node_name, node.status, _dump(node.inputs), _dump(node.output),
            _dump(node.error), node.started_at, node.finished_at, node.duration_ms, node.attempts,
            _dump(node.usage or {}), _dump(node.steps) if getattr(node, "steps", None) else None)


class PostgresRunHistory:
    """One connection guarded by a lock, like the SQLite history: safe from several threads."""

    def __init__(self, url: str) -> None:
        import psycopg  # only a PostgreSQL store needs the driver

        self.url = url
        self._db = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(7170010)")  # two processes creating the tables at once
            cur.execute(SCHEMA)

    def _tx(self):
        history = self

        class _Tx:
            def __enter__(self_inner):
                history._lock.acquire()
                self_inner.tx = history._db.transaction()
                self_inner.tx.__enter__()
                return history._db.cursor()

            def __exit__(self_inner, *exc):
                try:
                    self_inner.tx.__exit__(*exc)
                finally:
                    history._lock.release()

        return _Tx()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record_started(self, run_id: str, *, flow_id: str, flow_name: str, flow_path: str | None,
                       trigger: str, payload: Any, started_at: float | None = None, queued: bool = False) -> None:
        """A run starts (again): a retried run id replaces its row and its nodes, as in SQLite.
        `queued`: a queue worker runs it, and its end is the queue's to record (QUEUE_OWNER)."""
        with self._tx() as cur:
            cur.execute("DELETE FROM runs WHERE run_id=%s", (run_id,))
            cur.execute(f"INSERT INTO runs ({RUN_COLUMNS}, owner_pid, owner_host) VALUES"
                        " (%s,%s,%s,%s,%s,%s,'running',%s,NULL,'{}',NULL,%s,%s)",
                        (run_id, flow_id, flow_name, flow_path, trigger, _dump(payload), started_at or time.time(),
                         os.getpid(), QUEUE_OWNER if queued else _host()))

    def record_node(self, run_id: str, node: NodeRecord) -> None:
        with self._tx() as cur:
            cur.execute(_UPSERT_NODE, _node_row(run_id, node))

    def record_finished(self, run_id: str, status: str, *, usage: dict[str, Any] | None = None,
                        error: Any = None, nodes: list[NodeRecord] = (), finished_at: float | None = None) -> None:
        if status not in FINAL_STATUSES:
            raise ValueError(f"run status must be one of {FINAL_STATUSES}, not {status!r}")
        with self._tx() as cur:
            cur.execute("UPDATE runs SET status=%s, finished_at=%s, usage=%s, error=%s WHERE run_id=%s",
                        (status, finished_at or time.time(), _dump(usage or {}), _dump(error), run_id))
            if cur.rowcount != 1:
                raise KeyError(f"no run {run_id!r} in the history")
            for node in nodes:
                cur.execute(_UPSERT_NODE, _node_row(run_id, node))

    def mark_interrupted(self) -> int:
        """As the SQLite history: 'running' runs of this machine whose process is gone end cancelled."""
        host, me = _host(), os.getpid()
        with self._tx() as cur:
            cur.execute("SELECT run_id, owner_pid, owner_host FROM runs WHERE status='running' FOR UPDATE")
            dead = [run_id for run_id, pid, owner_host in cur.fetchall()
                    if pid is None or (owner_host == host and pid != me and not pid_alive(int(pid)))]
            error = _dump({"message": "the process running this flow stopped before it finished"})
            for run_id in dead:
                cur.execute("UPDATE runs SET status='cancelled', finished_at=%s, error=%s WHERE run_id=%s"
                            " AND status='running'", (time.time(), error, run_id))
            return len(dead)

    def list_runs(self, flow_id: str | None = None, limit: int = 100) -> list[RunRecord]:
        where, args = ("WHERE flow_id=%s", (flow_id,)) if flow_id is not None else ("", ())
        with self._tx() as cur:
            cur.execute(f"SELECT {RUN_COLUMNS} FROM runs {where} ORDER BY started_at DESC LIMIT %s", args + (limit,))
            return [_run(r) for r in cur.fetchall()]

    def get_run(self, run_id: str) -> RunRecord:
        with self._tx() as cur:
            cur.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id=%s", (run_id,))
            row = cur.fetchone()
            if row is None:
                raise KeyError(f"no run {run_id!r} in the history")
            run = _run(row)
            cur.execute("SELECT node_id, node_name, status, inputs, output, error, started_at, finished_at,"
                        " duration_ms, attempts, usage, steps FROM nodes WHERE run_id=%s"
                        " ORDER BY COALESCE(started_at, 1e300), node_name", (run_id,))
            run.nodes = [NodeRecord(node_id=r[0], node_name=r[1], status=r[2], inputs=_load(r[3]), output=_load(r[4]),
                                    error=_load(r[5]), started_at=r[6], finished_at=r[7], duration_ms=r[8],
                                    attempts=r[9], usage=_load(r[10]) or {}, steps=_load(r[11]))
                         for r in cur.fetchall()]
        return run

    def delete_run(self, run_id: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM runs WHERE run_id=%s", (run_id,))

    def pin_output(self, flow_id: str, node_id: str, output: Any) -> None:
        with self._tx() as cur:
            cur.execute("INSERT INTO pinned (flow_id, node_id, output, pinned_at) VALUES (%s,%s,%s,%s) ON CONFLICT"
                        " (flow_id, node_id) DO UPDATE SET output=EXCLUDED.output, pinned_at=EXCLUDED.pinned_at",
                        (flow_id, node_id, _dump(output), time.time()))

    def pinned_outputs(self, flow_id: str) -> dict[str, Any]:
        with self._tx() as cur:
            cur.execute("SELECT node_id, output FROM pinned WHERE flow_id=%s", (flow_id,))
            return {r[0]: _load(r[1]) for r in cur.fetchall()}


def _run(r: tuple) -> RunRecord:
    return RunRecord(run_id=r[0], flow_id=r[1], flow_name=r[2], flow_path=r[3], trigger=r[4], payload=_load(r[5]),
                     status=r[6], started_at=r[7], finished_at=r[8], usage=_load(r[9]) or {}, error=_load(r[10]))
