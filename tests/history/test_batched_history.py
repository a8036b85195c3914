"""Group commit of the run history (`studio serve`): writes queued in one turn of the loop are
committed together, each run's writes stay all or nothing, a bad write is reported without
losing the others, and `flushed()` returns only once everything queued is readable from another
connection (what the webhook reply waits for)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from studio.history import NodeRecord, RunHistory
from studio.history.batched import BatchedHistory


def _started(history, run_id: str) -> None:
    history.record_started(run_id, flow_id="f", flow_name="Flow", flow_path=None, trigger="webhook",
                           payload={"n": 1})


def _other_connection_sees(path, run_id: str) -> str | None:
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return row[0] if row else None
    finally:
        con.close()


async def test_writes_of_one_loop_turn_are_committed_together_and_flushed_waits_for_them(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    batched = BatchedHistory(history)
    commits = []
    history._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    for i in range(5):
        _started(batched, f"r{i}")
        batched.record_finished(f"r{i}", "succeeded", nodes=[NodeRecord("n", "N", "succeeded", output={"i": i})])
    assert _other_connection_sees(history.path, "r0") is None  # queued, not written yet
    await batched.flushed()
    assert commits == ["COMMIT"]  # ten writes, one commit
    assert [_other_connection_sees(history.path, f"r{i}") for i in range(5)] == ["succeeded"] * 5
    assert history.get_run("r3").nodes[0].output == {"i": 3}
    await batched.flushed()  # nothing queued: returns at once


async def test_a_failing_write_is_undone_alone_and_reported(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    warnings = []
    batched = BatchedHistory(history, warn=warnings.append)
    _started(batched, "good")
    # No such run: its node rows are refused (the run must exist first).
    batched.record_finished("missing", "succeeded", nodes=[NodeRecord("n", "N", "succeeded")])
    batched.record_finished("good", "failed", error={"message": "boom"})
    await batched.flushed()
    assert len(warnings) == 1 and "could not record a run" in warnings[0] and "IntegrityError" in warnings[0]
    assert history.get_run("good").status == "failed"
    assert history._db.execute("SELECT COUNT(*) FROM nodes WHERE run_id='missing'").fetchone()[0] == 0


async def test_reads_go_straight_to_the_history(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    batched = BatchedHistory(history)
    _started(history, "direct")
    assert [r.run_id for r in batched.list_runs()] == ["direct"]
    with pytest.raises(KeyError):
        batched.get_run("nope")


def test_writes_outside_a_batch_still_commit_one_by_one(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    _started(history, "a")
    assert _other_connection_sees(history.path, "a") == "running"
    with pytest.raises(KeyError):
        history.record_finished("b", "succeeded")
    with history.batch():
        _started(history, "c")
        with pytest.raises(RuntimeError):
            with history._tx() as db:  # one write of the batch fails half-way: undone alone
                _started(history, "d")
                raise RuntimeError("half-way")
        assert _other_connection_sees(history.path, "c") is None  # not committed inside the batch
    assert _other_connection_sees(history.path, "c") == "running"
    assert _other_connection_sees(history.path, "d") is None


async def test_the_loop_goes_on_while_a_batch_is_committed_and_later_writes_make_the_next_batch(tmp_path):
    import threading
    import time

    history = RunHistory(tmp_path / "h.sqlite3")
    batched = BatchedHistory(history)
    slow = threading.Event()
    real = history.record_started

    def slow_start(run_id, **fields):
        if run_id == "slow":
            slow.wait(5)  # a disk that keeps the writer waiting
        real(run_id, **fields)

    history.record_started = slow_start
    _started(batched, "slow")
    first = asyncio.ensure_future(batched.flushed())
    await asyncio.sleep(0.05)  # the loop is free while the writer waits
    assert not first.done()
    _started(batched, "later")  # queued while the first batch is being written
    second = asyncio.ensure_future(batched.flushed())
    await asyncio.sleep(0.05)
    assert not first.done() and not second.done()
    slow.set()
    await asyncio.wait_for(first, 5)
    await asyncio.wait_for(second, 5)
    assert _other_connection_sees(history.path, "slow") == "running"
    assert _other_connection_sees(history.path, "later") == "running"


async def test_flush_writes_what_is_queued_and_what_the_writer_is_on(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    batched = BatchedHistory(history)
    _started(batched, "a")
    await asyncio.sleep(0)  # the writer thread takes "a"
    _started(batched, "b")  # still queued
    batched.flush()  # when serving stops
    assert _other_connection_sees(history.path, "a") == "running"
    assert _other_connection_sees(history.path, "b") == "running"
    await asyncio.wait_for(batched.flushed(), 5)


async def test_a_run_recorded_after_it_ended_keeps_when_it_started(tmp_path):
    import time

    history = RunHistory(tmp_path / "h.sqlite3")
    batched = BatchedHistory(history)
    before = time.time()
    _started(batched, "quick")
    time.sleep(0.02)  # the run takes a while, in this turn of the loop: its start is still queued
    finished = time.time()
    batched.record_finished("quick", "succeeded", finished_at=finished)
    await batched.flushed()
    run = history.get_run("quick")
    # when the run started, not when the writer thread got to it (after the run had ended)
    assert before <= run.started_at <= finished - 0.015 and run.finished_at == finished


async def test_a_batch_whose_writes_all_succeed_is_one_plain_transaction(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    batched = BatchedHistory(history)
    statements = []
    history._db.set_trace_callback(statements.append)
    for i in range(3):
        _started(batched, f"r{i}")
        batched.record_finished(f"r{i}", "succeeded", nodes=[NodeRecord("n", "N", "succeeded", output=i)])
    await batched.flushed()
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1
    assert not any("SAVEPOINT" in s for s in statements)  # two statements fewer per write
    assert [history.get_run(f"r{i}").nodes[0].output for i in range(3)] == [0, 1, 2]


async def test_a_finish_after_its_start_was_handed_to_the_writer_updates_the_row(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    batched = BatchedHistory(history)
    _started(batched, "slow")
    await batched.flushed()  # the start is written: the run shows as running meanwhile
    assert _other_connection_sees(history.path, "slow") == "running"
    batched.record_finished("slow", "failed", error={"message": "boom"})
    await batched.flushed()
    assert _other_connection_sees(history.path, "slow") == "failed"
    assert history.get_run("slow").error == {"message": "boom"}
