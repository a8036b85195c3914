"""The editor's asyncio loop: qasync's, but ready callbacks run in short slices.

qasync gives every `call_soon` callback its own zero-delay Qt timer, and Qt fires all timers
that are due in one pass. When a run starts 200 node tasks at once, their steps (building
requests, parsing answers) then ran back to back for 50-60 ms while no input, paint or other
timer was handled. Here ready callbacks wait in one queue that a single Qt timer drains for
at most `slice_ms` at a time, in order; between slices Qt handles everything else."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

import qasync
from qtpy.QtCore import QTimer

SLICE_MS = 5.0


class PacedEventLoop(qasync.QEventLoop):
    def __init__(self, app: Any = None, *, slice_ms: float = SLICE_MS, **kwargs: Any) -> None:
        self._ready_queue: collections.deque[asyncio.Handle] = collections.deque()
        self._slice_s = slice_ms / 1000
        self._pacer = QTimer()
        self._pacer.setSingleShot(True)
        self._pacer.setInterval(0)
        self._pacer.timeout.connect(self._run_slice)
        super().__init__(app, **kwargs)

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:
        """Queue `callback` (FIFO, as asyncio requires); the next slice runs it."""
        self._check_closed()
        if asyncio.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with call_soon")
        handle = asyncio.Handle(callback, args, self, context=context)
        self._ready_queue.append(handle)
        if not self._pacer.isActive():
            self._pacer.start()
        return handle

    def _run_slice(self) -> None:
        deadline = time.perf_counter() + self._slice_s
        queue = self._ready_queue
        while queue:
            handle = queue.popleft()
            if not handle._cancelled:
                handle._run()  # asyncio.Handle reports its own exceptions to the loop
            if time.perf_counter() >= deadline:
                break
        if queue and not self.is_closed():
            self._pacer.start()  # the rest after Qt's next pass

    def pending_callbacks(self) -> int:
        """Ready callbacks not run yet (tests)."""
        return len(self._ready_queue)

    def close(self) -> None:
        self._pacer.stop()
        self._ready_queue.clear()
        super().close()


def create_event_loop(app: Any) -> asyncio.AbstractEventLoop:
    """The loop the editor runs asyncio on (see the module docstring)."""
    return PacedEventLoop(app)
