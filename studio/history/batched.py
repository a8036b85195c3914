"""Group commit for a busy server (`studio serve` on the SQLite history, the store with
`batch()`; other stores are written directly): run starts and ends are queued and written
together, in one transaction, by a writer thread, instead of one commit each on the event loop.

While the writer thread commits one batch (the disk may keep it waiting for milliseconds: a WAL
checkpoint syncs the database file), the loop goes on serving requests, and whatever they queue
meanwhile becomes the next batch, so batches grow with the load. Durability is the same as writing
each at once: a caller that must not answer before its run is recorded awaits `flushed()` (the
webhook reply does), so a run that was answered is committed. What a crash can lose is only
writes not yet committed, whose runs were not answered, the same as a crash just before those
runs began or ended; each run's writes stay all or nothing (a batch is one plain transaction;
if a write in it fails, it is undone and written again with one savepoint per write). The values
a write records are read by the writer thread: callers hand over values the run no longer
changes (a finished run's results, the trigger payload); a run's start time is taken when it is
queued."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Any, Callable

from .store import RunHistory

log = logging.getLogger(__name__)


class BatchedHistory:
    """A RunHistory whose record_started/record_finished are queued and committed together by a
    writer thread; everything else (reads, pins, retention) goes straight to the history. Queue
    writes from one loop."""

    def __init__(self, history: RunHistory, warn: Callable[[str], None] | None = None) -> None:
        self.history = history
        self._warn = warn or (lambda text: log.warning("%s", text))
        self._queue: list[Callable[[], None]] = []
        self._queued = 0  # writes queued since the start
        self._done = 0  # of those, written (committed, or reported as failed)
        self._waiters: list[tuple[int, asyncio.Future]] = []  # (writes that must be done, waiter)
        self._scheduled = False
        self._writing = False  # the writer thread is on a batch
        # Batches go to the writer thread through a queue; it hands each back with one
        # call_soon_threadsafe (a future per batch, as run_in_executor makes, cost more).
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.history, name)

    def record_started(self, run_id: str, **fields: Any) -> None:
        fields.setdefault("started_at", time.time())  # now, not when the writer thread gets to it
        self._add(lambda: self.history.record_started(run_id, **fields))

    def record_finished(self, run_id: str, status: str, **fields: Any) -> None:
        self._add(lambda: self.history.record_finished(run_id, status, **fields))

    def _add(self, write: Callable[[], None]) -> None:
        self._queue.append(write)
        self._queued += 1
        if not self._scheduled and not self._writing:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._next_batch)  # after this turn's other writes

    def _next_batch(self) -> None:
        self._scheduled = False
        if self._writing or not self._queue:
            return
        batch, self._queue = self._queue, []
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_batches, name="history-writer", daemon=True)
            self._writer.start()
        self._writing = True
        self._jobs.put((batch, asyncio.get_running_loop()))

    def _write_batches(self) -> None:
        """The writer thread: each batch written, then handed back to its loop."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch, loop = job
            self._write(batch)
            try:
                loop.call_soon_threadsafe(self._batch_done, len(batch))
            except RuntimeError:  # the loop is closed: nobody waits for this batch any more
                pass

    def _batch_done(self, count: int) -> None:
        self._writing = False
        self._written(count)
        self._next_batch()  # what was queued meanwhile

    def _written(self, count: int) -> None:
        self._done += count
        waiting = []
        for target, waiter in self._waiters:
            if target > self._done:
                waiting.append((target, waiter))
            elif not waiter.done():
                waiter.set_result(None)
        self._waiters = waiting

    def _write(self, batch: list[Callable[[], None]]) -> None:
        """Write `batch` in one transaction; a write that fails is reported and undone alone, the
        others are kept. First as one plain transaction; only if something in it fails, again
        with each write in a savepoint of its own (each write may be made twice: all replace)."""
        try:
            with self.history.batch(savepoints=False):
                for write in batch:
                    write()
            return
        except Exception:  # noqa: BLE001 - undone whole; written again one by one below, and reported
            pass
        try:
            with self.history.batch():
                for write in batch:
                    try:
                        write()
                    except Exception as exc:  # noqa: BLE001 - one run's record must not lose the others'
                        self._warn(f"could not record a run in the history: {type(exc).__name__}: "
                                   f"{str(exc)[:200]}")
        except Exception as exc:  # noqa: BLE001 - the commit itself failed (disk full, locked)
            self._warn(f"could not record {len(batch)} run write(s) in the history: {type(exc).__name__}: "
                       f"{str(exc)[:200]}")

    def flush(self) -> None:
        """Write everything queued, now, and stop the writer thread (when serving stops): the
        batch it is on is committed first."""
        if self._writer is not None:
            self._jobs.put(None)
            self._writer.join()
            self._writer = None
        batch, self._queue = self._queue, []
        if batch:
            self._write(batch)
            self._written(len(batch))

    async def flushed(self) -> None:
        """Return once every write queued so far is committed (or reported as failed)."""
        target = self._queued
        if self._done >= target:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        await waiter
