"""The run history and run records are private to the user (0600 files, 0700 folders), and a run
left 'running' by a killed process is closed — but only that one: a run another live process is
running stays 'running'. Real SQLite files, real processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from studio.flow.io import save_flow
from studio.flow.models import Flow, Node
from studio.history import RunHistory

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and os.kill(pid, 0) are POSIX")

RECORDER = """
import sys, time
from studio.history import RunHistory
history = RunHistory(sys.argv[1] if sys.argv[1] != "-" else None)
history.record_started(sys.argv[2], flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
print("started", flush=True)
time.sleep(600)
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """Without our own modes, files would be created world-readable (0644) and folders 0777."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _recorder(db: Path | None, run_id: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(db) if db else "-", run_id],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "started", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)  # reaped: its pid is gone


def test_a_new_history_is_created_private(tmp_path, open_umask):
    folder = tmp_path / "data" / "flow-studio"
    history = RunHistory(folder / "history.sqlite3")
    history.record_started("r1", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={"a": 1})
    files = [folder / name for name in ("history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm")]
    assert all(f.exists() for f in files)
    assert {f.name: oct(_mode(f)) for f in files} == {f.name: "0o600" for f in files}
    assert _mode(folder) == 0o700
    history.close()


def test_the_default_history_and_its_folder_are_private(open_umask):
    history = RunHistory()
    history.record_started("r1", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
    assert _mode(history.path) == 0o600
    assert _mode(history.path.parent) == 0o700
    history.close()


def test_an_existing_world_readable_history_is_made_private(tmp_path):
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
    for f in tmp_path.iterdir():
        os.chmod(f, 0o644)
    history = RunHistory(path)
    history.record_started("r1", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
    for f in tmp_path.iterdir():
        assert _mode(f) == 0o600, f
    history.close()


def test_an_older_history_gets_the_owner_columns(tmp_path):
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:  # the runs table as the first release wrote it
        db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, flow_name TEXT NOT NULL,"
                   " flow_path TEXT, trigger TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,"
                   " started_at REAL NOT NULL, finished_at REAL, usage TEXT NOT NULL DEFAULT '{}', error TEXT)")
        db.execute("INSERT INTO runs (run_id, flow_id, flow_name, trigger, payload, status, started_at)"
                   " VALUES ('old', 'f', 'F', 'cli', '{}', 'running', 1.0)")
    history = RunHistory(path)
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    assert {"owner_pid", "owner_host"} <= columns
    history.record_started("new", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
    assert history.mark_interrupted() == 1  # the old run's owner is unknown: closed; ours stays
    assert history.get_run("old").status == "cancelled"
    assert history.get_run("new").status == "running"
    history.close()
    RunHistory(path).close()  # opening again does not try to add the columns twice


def test_only_runs_of_dead_processes_are_marked_interrupted(tmp_path):
    path = tmp_path / "history.sqlite3"
    killed = _recorder(path, "killed-run")
    alive = _recorder(path, "alive-run")
    try:
        _kill(killed)
        history = RunHistory(path)
        history.record_started("own-run", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
        assert history.mark_interrupted() == 1
        gone = history.get_run("killed-run")
        assert gone.status == "cancelled" and "stopped before it finished" in gone.error["message"]
        assert history.get_run("alive-run").status == "running"  # another terminal is still running it
        assert history.get_run("own-run").status == "running"  # this process is alive
        assert history.mark_interrupted() == 0
        history.close()
    finally:
        _kill(alive)
        _kill(killed)


def test_studio_run_closes_runs_of_killed_processes_and_keeps_its_record_private(tmp_path, open_umask):
    killed = _recorder(None, "killed-run")  # the default history, in the test's FLOW_STUDIO_HOME
    alive = _recorder(None, "alive-run")
    try:
        _kill(killed)
        path = tmp_path / "start.flow.json"
        save_flow(Flow(name="Just start", nodes=[Node(action="trigger.manual", name="Start")]), path)
        done = subprocess.run([sys.executable, "-m", "studio.cli", "run", str(path), "--json"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        history = RunHistory()
        assert history.get_run("killed-run").status == "cancelled"
        assert history.get_run("alive-run").status == "running"
        assert history.get_run(result["run_id"]).status == "succeeded"
        assert _mode(history.path) == 0o600
        history.close()
    finally:
        _kill(alive)
        _kill(killed)
    run_dir = Path(result["run_dir"])
    record = run_dir / "run.json"
    assert record.exists()
    assert _mode(record) == 0o600
    assert _mode(run_dir) == 0o700
    assert _mode(run_dir.parent) == 0o700
