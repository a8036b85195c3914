"""SQLite run history in the user's data folder.

Every write is one transaction, so a crash leaves each run either recorded up to its last
finished node or not at all — never half a row. Values are stored as JSON text; artifacts are
referenced by path (the files stay in the run's folder)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from studio.jsontext import json_encoder

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id       TEXT PRIMARY KEY,
    flow_id      TEXT NOT NULL,
    flow_name    TEXT NOT NULL,
    flow_path    TEXT,
    trigger      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_at   REAL NOT NULL,
    finished_at  REAL,
    usage        TEXT NOT NULL DEFAULT '{}',
    error        TEXT,
    owner_pid    INTEGER,
    owner_host   TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_flow ON runs(flow_id, started_at DESC);
CREATE TABLE IF NOT EXISTS nodes (
    run_id       TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    node_id      TEXT NOT NULL,
    node_name    TEXT NOT NULL,
    status       TEXT NOT NULL,
    inputs       TEXT,
    output       TEXT,
    error        TEXT,
    started_at   REAL,
    finished_at  REAL,
    duration_ms  REAL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    usage        TEXT NOT NULL DEFAULT '{}',
    steps        TEXT,
    PRIMARY KEY (run_id, node_id)
);
CREATE TABLE IF NOT EXISTS pinned (
    flow_id      TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    output       TEXT NOT NULL,
    pinned_at    REAL NOT NULL,
    PRIMARY KEY (flow_id, node_id)
);
"""

FINAL_STATUSES = ("succeeded", "failed", "cancelled", "waiting")

MIGRATIONS = (
    # (table, column, declaration): columns added after the first release; ALTER TABLE adds them.
    ("runs", "owner_pid", "INTEGER"),  # the process recording the run (NULL: recorded before this column)
    ("runs", "owner_host", "TEXT"),
    # An agent node's steps (tool calls and results, handoffs, approvals, model calls) as a JSON
    # list (studio/engine/steps.py); NULL for other nodes and runs recorded before. The node row
    # goes with its run (ON DELETE CASCADE), so deletion and retention cover the steps too.
    ("nodes", "steps", "TEXT"),
)

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


QUEUE_OWNER = "queue"
"""The owner host recorded for a run a queue worker runs: if that worker dies, the queue delivers
the run again and the next worker runs it again or closes it (studio/queue/worker.py), so no
process's start-up recovery (`mark_interrupted`) may close it first, even on the worker's machine."""


@functools.lru_cache(maxsize=1)
def _host() -> str:
    """This machine's name, asked once per process (a row per run records it)."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (a process of another user counts)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.GetLastError() == 5  # access denied: it exists
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _make_private(path: Path, mode: int) -> None:
    """chmod where the OS has POSIX modes (elsewhere the user's profile folder already is private)."""
    if os.name == "posix":
        try:
            os.chmod(path, mode)
        except FileNotFoundError:
            pass


# JSON text as `json.dumps(value, ensure_ascii=False, default=str)` writes it. No circular-reference
# marks: the values are JSON data already (engine/results.py `jsonable`), and a cycle ends in
# RecursionError, a write that fails.
_ENCODE = json_encoder(default=str, item_separator=", ", key_separator=": ", check_circular=False)


def _dump(value: Any) -> str:
    if value is None:  # most of a run's error, inputs and steps columns
        return "null"
    if type(value) is dict and not value:  # most usage columns
        return "{}"
    return _ENCODE(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _write_node(db: sqlite3.Connection, run_id: str, node: "NodeRecord") -> None:
    db.execute(
        "INSERT OR REPLACE INTO nodes (run_id, node_id, node_name, status, inputs, output, error, started_at,"
        " finished_at, duration_ms, attempts, usage, steps) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (run_id, node.node_id, node.node_name, node.status, _dump(node.inputs), _dump(node.output),
         _dump(node.error), node.started_at, node.finished_at, node.duration_ms, node.attempts,
         _dump(node.usage or {}), _dump(node.steps) if node.steps else None),
    )


class _Tx:
    """`with history._tx() as db:` one write (see RunHistory._tx)."""

    __slots__ = ("db", "lock", "history", "nested", "savepoint")

    def __init__(self, history: "RunHistory") -> None:
        self.db, self.lock, self.history = history._db, history._lock, history

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.nested = self.db.in_transaction
        # Inside a batch(savepoints=False), a write is no savepoint of its own: the batch is
        # undone whole if one of its writes fails (BatchedHistory then writes them one by one).
        self.savepoint = not self.nested or self.history._savepoints
        try:
            if self.savepoint:
                self.db.execute("SAVEPOINT write" if self.nested else "BEGIN IMMEDIATE")
        except BaseException:  # a busy or closed database: nothing began, so nothing to hold
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.savepoint:
                return
            if self.nested:
                if exc_type:
                    self.db.execute("ROLLBACK TO write")
                self.db.execute("RELEASE write")
            else:
                self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()


@dataclass
class NodeRecord:
    node_id: str
    node_name: str
    status: str
    inputs: Any = None
    output: Any = None
    error: Any = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    attempts: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] | None = None  # an agent's steps, in order (None: none recorded)


@dataclass
class RunRecord:
    run_id: str
    flow_id: str
    flow_name: str
    flow_path: str | None
    trigger: str
    payload: Any
    status: str
    started_at: float
    finished_at: float | None
    usage: dict[str, Any]
    error: Any
    nodes: list[NodeRecord] = field(default_factory=list)


def default_path() -> Path:
    from studio.paths import data_dir

    return data_dir() / "history.sqlite3"


class RunHistory:
    """Thread-safe (one connection guarded by a lock): the executor's callbacks, a webhook server
    thread and the editor may all record at once."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, mode=PRIVATE_DIR, exist_ok=True)
            _make_private(folder, PRIVATE_DIR)
        elif path is None:
            _make_private(folder, PRIVATE_DIR)  # our own data folder: nobody else reads the history
        # Payloads, node inputs and outputs are private: the file exists with mode 0600 before
        # SQLite opens it (SQLite gives the -wal and -shm files the same mode).
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
        except FileExistsError:
            pass
        self._make_files_private()
        self._lock = threading.RLock()  # re-entered by the writes inside a batch()
        self._savepoints = True  # each write inside a batch() is a savepoint (see batch())
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(SCHEMA)  # executescript manages its own transaction
            self._migrate()
        self._make_files_private()

    def _make_files_private(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            _make_private(self.path.with_name(self.path.name + suffix), PRIVATE_FILE)

    def _migrate(self) -> None:
        """Add the columns an older history file lacks (caller holds the lock)."""
        for table, column, declaration in MIGRATIONS:
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                try:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise

    # -- plumbing ----------------------------------------------------------------------------

    def _tx(self) -> "_Tx":
        """One write: a transaction, or inside a batch() a savepoint of the batch's transaction
        (a write that fails is undone whole, the batch's other writes stay)."""
        return _Tx(self)

    @contextlib.contextmanager
    def batch(self, *, savepoints: bool = True) -> Iterator[sqlite3.Connection]:
        """Group commit: the writes made inside `with history.batch():` are committed together,
        in one transaction (one WAL commit instead of one each); each write stays all or nothing.
        `savepoints=False`: the writes are no savepoints of their own (two statements fewer
        each), so one that fails undoes the whole batch, and the caller writes them again."""
        with _Tx(self) as db:
            saved, self._savepoints = self._savepoints, savepoints
            try:
                yield db
            finally:
                self._savepoints = saved

    def _query(self, sql: str, args: tuple = ()) -> Iterator[tuple]:
        with self._lock:
            return iter(self._db.execute(sql, args).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing ---------------------------------------------------------------------------

    def record_started(self, run_id: str, *, flow_id: str, flow_name: str, flow_path: str | None,
                       trigger: str, payload: Any, started_at: float | None = None, queued: bool = False) -> None:
        """`queued`: a queue worker runs it, and its end is the queue's to record (QUEUE_OWNER)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs (run_id, flow_id, flow_name, flow_path, trigger, payload,"
                " status, started_at, owner_pid, owner_host) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, flow_id, flow_name, flow_path, trigger, _dump(payload), started_at or time.time(),
                 os.getpid(), QUEUE_OWNER if queued else _host()),
            )

    def record_node(self, run_id: str, node: NodeRecord) -> None:
        with self._tx() as db:
            _write_node(db, run_id, node)

    def record_finished(self, run_id: str, status: str, *, usage: dict[str, Any] | None = None,
                        error: Any = None, nodes: list[NodeRecord] = (), finished_at: float | None = None) -> None:
        """Close a run; any nodes given are written in the same transaction."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"run status must be one of {FINAL_STATUSES}, not {status!r}")
        with self._tx() as db:
            for node in nodes:
                _write_node(db, run_id, node)
            cur = db.execute(
                "UPDATE runs SET status=?, finished_at=?, usage=?, error=? WHERE run_id=?",
                (status, finished_at or time.time(), _dump(usage or {}), _dump(error), run_id),
            )
            if cur.rowcount != 1:
                raise KeyError(f"no run {run_id!r} in the history")

    def mark_interrupted(self) -> int:
        """Runs still 'running' whose process died are recorded as cancelled; returns how many.

        Only runs of this machine whose owner process is gone: a run another live process (another
        terminal, the editor) is running stays 'running', and so does every run of this process
        and every run of a queue worker (QUEUE_OWNER: the queue delivers it again). Runs recorded
        before owners were (owner unknown) count as interrupted."""
        host, me = _host(), os.getpid()
        with self._tx() as db:
            dead = [
                run_id for run_id, pid, owner_host in db.execute(
                    "SELECT run_id, owner_pid, owner_host FROM runs WHERE status='running'").fetchall()
                if pid is None or (owner_host == host and pid != me and not pid_alive(int(pid)))
            ]
            error = _dump({"message": "the process running this flow stopped before it finished"})
            now = time.time()
            for run_id in dead:
                db.execute("UPDATE runs SET status='cancelled', finished_at=?, error=? WHERE run_id=? AND"
                           " status='running'", (now, error, run_id))
            return len(dead)

    # -- reading ---------------------------------------------------------------------------

    def list_runs(self, flow_id: str | None = None, limit: int = 100) -> list[RunRecord]:
        sql = "SELECT run_id, flow_id, flow_name, flow_path, trigger, payload, status, started_at, finished_at," \
              " usage, error FROM runs"
        args: tuple = ()
        if flow_id is not None:
            sql += " WHERE flow_id=?"
            args = (flow_id,)
        sql += " ORDER BY started_at DESC LIMIT ?"
        return [self._run_from_row(r) for r in self._query(sql, args + (limit,))]

    def get_run(self, run_id: str) -> RunRecord:
        rows = list(self._query(
            "SELECT run_id, flow_id, flow_name, flow_path, trigger, payload, status, started_at, finished_at,"
            " usage, error FROM runs WHERE run_id=?", (run_id,)))
        if not rows:
            raise KeyError(f"no run {run_id!r} in the history")
        run = self._run_from_row(rows[0])
        run.nodes = [
            NodeRecord(node_id=r[0], node_name=r[1], status=r[2], inputs=_load(r[3]), output=_load(r[4]),
                       error=_load(r[5]), started_at=r[6], finished_at=r[7], duration_ms=r[8], attempts=r[9],
                       usage=_load(r[10]) or {}, steps=_load(r[11]))
            for r in self._query(
                "SELECT node_id, node_name, status, inputs, output, error, started_at, finished_at, duration_ms,"
                " attempts, usage, steps FROM nodes WHERE run_id=? ORDER BY COALESCE(started_at, 1e300), node_name",
                (run_id,))
        ]
        return run

    @staticmethod
    def _run_from_row(r: tuple) -> RunRecord:
        return RunRecord(run_id=r[0], flow_id=r[1], flow_name=r[2], flow_path=r[3], trigger=r[4],
                         payload=_load(r[5]), status=r[6], started_at=r[7], finished_at=r[8],
                         usage=_load(r[9]) or {}, error=_load(r[10]))

    # -- deleting and retention ------------------------------------------------------------

    def delete_run(self, run_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))

    def apply_retention(self, *, max_runs_per_flow: int | None = None, max_age_days: float | None = None,
                        now: float | None = None) -> int:
        """Delete what the retention setting no longer keeps; returns how many runs went."""
        deleted = 0
        with self._tx() as db:
            if max_age_days is not None:
                cutoff = (now or time.time()) - max_age_days * 86400
                deleted += db.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,)).rowcount
            if max_runs_per_flow is not None:
                deleted += db.execute(
                    "DELETE FROM runs WHERE run_id IN (SELECT run_id FROM (SELECT run_id, ROW_NUMBER() OVER"
                    " (PARTITION BY flow_id ORDER BY started_at DESC) AS n FROM runs) WHERE n > ?)",
                    (max_runs_per_flow,),
                ).rowcount
        return deleted

    # -- pinned outputs (reused by later runs instead of calling the API) --------------------

    def pin_output(self, flow_id: str, node_id: str, output: Any) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO pinned (flow_id, node_id, output, pinned_at) VALUES (?,?,?,?)",
                       (flow_id, node_id, _dump(output), time.time()))

    def unpin_output(self, flow_id: str, node_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM pinned WHERE flow_id=? AND node_id=?", (flow_id, node_id))

    def pinned_outputs(self, flow_id: str) -> dict[str, Any]:
        return {r[0]: _load(r[1]) for r in self._query("SELECT node_id, output FROM pinned WHERE flow_id=?", (flow_id,))}
