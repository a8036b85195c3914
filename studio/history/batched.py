"""Group commit for a busy server (`studio serve` on the SQLite history, the store with
`batch()`; other stores are written directly): run starts and ends are queued and written
together once per turn of the event loop, in one transaction, instead of one commit per write.

Durability is the same as writing each at once: a caller that must not answer before its run is
recorded awaits `flushed()` (the webhook reply does), so a run that was answered is committed.
What a crash can lose is only a start queued in the current turn of the loop (under a
millisecond), the same as a crash just before the run started; each run's writes stay all or
nothing (one savepoint each inside the batch)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from .store import RunHistory

log = logging.getLogger(__name__)


class BatchedHistory:
    """A RunHistory whose record_started/record_finished are queued and committed together;
    everything else (reads, pins, retention) goes straight to the history. Use from one loop."""

    def __init__(self, history: RunHistory, warn: Callable[[str], None] | None = None) -> None:
        self.history = history
        self._warn = warn or (lambda text: log.warning("%s", text))
        self._queue: list[Callable[[], None]] = []
        self._waiters: list[asyncio.Future] = []
        self._scheduled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.history, name)

    def record_started(self, run_id: str, **fields: Any) -> None:
        self._add(lambda: self.history.record_started(run_id, **fields))

    def record_finished(self, run_id: str, status: str, **fields: Any) -> None:
        self._add(lambda: self.history.record_finished(run_id, status, **fields))

    def _add(self, write: Callable[[], None]) -> None:
        self._queue.append(write)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write everything queued now, in one transaction; a write that fails is reported and
        undone alone, the others are kept."""
        self._scheduled = False
        queue, self._queue = self._queue, []
        waiters, self._waiters = self._waiters, []
        try:
            if queue:
                with self.history.batch():
                    for write in queue:
                        try:
                            write()
                        except Exception as exc:  # noqa: BLE001 - one run's record must not lose the others'
                            self._warn(f"could not record a run in the history: {type(exc).__name__}: "
                                       f"{str(exc)[:200]}")
        except Exception as exc:  # noqa: BLE001 - the commit itself failed (disk full, locked)
            self._warn(f"could not record {len(queue)} run write(s) in the history: {type(exc).__name__}: "
                       f"{str(exc)[:200]}")
        finally:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def flushed(self) -> None:
        """Return once every write queued so far is committed (or reported as failed)."""
        if not self._queue:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter
