"""Run history: recorded in transactions, survives a restart, retention, pinned outputs."""

import sqlite3
import time

import pytest

from studio.history import NodeRecord, RunHistory


def _record_run(history: RunHistory, run_id: str, flow_id: str = "flow-1", started_at: float | None = None,
                status: str = "succeeded") -> None:
    history.record_started(run_id, flow_id=flow_id, flow_name="Demo", flow_path="/tmp/demo.flow.json",
                           trigger="manual", payload={"topic": "cats"}, started_at=started_at)
    history.record_node(run_id, NodeRecord(node_id="n1", node_name="Ask", status="succeeded",
                                           inputs={"model": "gpt-4o"}, output={"text": "hi"},
                                           started_at=1.0, finished_at=2.0, duration_ms=1000.0, attempts=1,
                                           usage={"total_tokens": 12}))
    history.record_finished(run_id, status, usage={"total_tokens": 12})


def test_a_run_survives_a_restart(tmp_path):
    path = tmp_path / "history.sqlite3"
    history = RunHistory(path)
    _record_run(history, "run-1")
    history.close()

    reopened = RunHistory(path)
    run = reopened.get_run("run-1")
    assert run.status == "succeeded"
    assert run.payload == {"topic": "cats"}
    assert run.usage == {"total_tokens": 12}
    assert [(n.node_name, n.status, n.output, n.usage) for n in run.nodes] == [
        ("Ask", "succeeded", {"text": "hi"}, {"total_tokens": 12})]
    assert [r.run_id for r in reopened.list_runs("flow-1")] == ["run-1"]


def test_runs_left_running_by_a_dead_process_become_cancelled(tmp_path):
    import subprocess
    import sys

    history = RunHistory(tmp_path / "h.sqlite3")
    history.record_started("run-2", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
    assert history.mark_interrupted() == 0  # this process is alive: its own runs stay running
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)  # a process that has exited (and been reaped)
    with history._tx() as db:
        db.execute("UPDATE runs SET owner_pid=? WHERE run_id='run-2'", (dead,))
    assert history.mark_interrupted() == 1
    run = history.get_run("run-2")
    assert run.status == "cancelled"
    assert "stopped before it finished" in run.error["message"]


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    history.record_started("run-3", flow_id="f", flow_name="F", flow_path=None, trigger="cli", payload={})
    good = NodeRecord(node_id="a", node_name="A", status="succeeded")
    # A value that cannot be written as a row (a list for a REAL column) aborts the whole finish.
    bad = NodeRecord(node_id="b", node_name="B", status="failed", duration_ms=[1])  # type: ignore[arg-type]
    with pytest.raises(sqlite3.Error):
        history.record_finished("run-3", "failed", nodes=[good, bad])
    run = history.get_run("run-3")
    assert run.status == "running" and run.nodes == []


def test_finishing_an_unknown_run_or_with_a_bad_status_is_refused(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    with pytest.raises(KeyError, match="no run 'nope'"):
        history.record_finished("nope", "succeeded")
    with pytest.raises(ValueError, match="run status must be one of"):
        history.record_finished("nope", "exploded")


def test_retention_keeps_the_newest_runs_per_flow_and_drops_old_ones(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    now = time.time()
    for i in range(5):
        _record_run(history, f"a{i}", flow_id="A", started_at=now - 100 + i)
    _record_run(history, "b-old", flow_id="B", started_at=now - 40 * 86400)
    _record_run(history, "b-new", flow_id="B", started_at=now)

    assert history.apply_retention(max_age_days=30, now=now) == 1
    assert history.apply_retention(max_runs_per_flow=2) == 3
    assert [r.run_id for r in history.list_runs("A")] == ["a4", "a3"]
    assert [r.run_id for r in history.list_runs("B")] == ["b-new"]
    with pytest.raises(KeyError):
        history.get_run("a0")  # its node rows went with it (cascade)


def test_delete_run_removes_it_and_its_nodes(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    _record_run(history, "r")
    history.delete_run("r")
    assert history.list_runs() == []
    with history._tx() as db:
        assert db.execute("SELECT COUNT(*) FROM nodes").fetchone()[0] == 0


def test_pinned_outputs_are_kept_per_flow_and_node(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    history.pin_output("flow-1", "n1", {"choices": [{"message": {"content": "pinned"}}]})
    history.pin_output("flow-2", "n1", "other flow")
    assert history.pinned_outputs("flow-1") == {"n1": {"choices": [{"message": {"content": "pinned"}}]}}
    history.unpin_output("flow-1", "n1")
    assert history.pinned_outputs("flow-1") == {}
    assert history.pinned_outputs("flow-2") == {"n1": "other flow"}


def test_run_ids_are_unique_uuid_shaped_and_ordered_by_time():
    import time
    import uuid

    from studio.history.run_ids import new_run_id

    first = [new_run_id() for _ in range(2000)]
    time.sleep(0.002)
    later = new_run_id()
    assert len(set(first)) == len(first)
    assert all(len(i) == 32 and uuid.UUID(i).version == 7 for i in first)
    assert later > max(first)  # a later millisecond sorts after every id of an earlier one
