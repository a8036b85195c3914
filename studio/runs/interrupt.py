"""Cancelling a run from a terminal: Ctrl-C (SIGINT) or SIGTERM cancels the run cleanly, and a
run that does not stop in time is recorded as cancelled before the process quits."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from typing import Any, Callable

from studio.history import open_store

EXIT_INTERRUPTED = 130

# After Ctrl-C or SIGTERM, how long a run may take to stop by itself before it is recorded as
# cancelled and the process quits (a node busy in Python code never gives the event loop a turn).
INTERRUPT_GRACE_S = 1.0


class InterruptGuard:
    """Ctrl-C (SIGINT) and SIGTERM while a run executes. Python-level handlers (`signal.signal`:
    they run between bytecodes, even while a node keeps the event loop busy) ask the loop to
    cancel the run, thread-safely, and arm a watchdog: if the run has not ended
    `INTERRUPT_GRACE_S` later, the watchdog's thread records it as cancelled in the run history
    and the process exits 130. A second signal does that at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, run: Any, say: Callable[[str], None], run_id: str) -> None:
        self.loop = loop
        self.run = run  # anything with cancel(): an ActiveRun or the executor's RunHandle
        self.say = say
        self.run_id = run_id
        self.interrupted = False
        self._lock = threading.Lock()
        self._ended = False
        self._timer: threading.Timer | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError, RuntimeError):  # not the main thread: no handlers
                pass

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.interrupted:  # a second one: stop waiting for clean-up
            threading.Thread(target=self._give_up, args=(True,), name="studio-interrupt", daemon=True).start()
            return
        self.interrupted = True
        try:
            self.say("interrupted: cancelling the run (Ctrl-C again to quit at once)")
        except Exception:  # noqa: BLE001 - e.g. the main thread was itself writing to stderr
            pass
        try:
            self.loop.call_soon_threadsafe(self.run.cancel)
        except RuntimeError:  # the loop is already closed
            pass
        self._timer = threading.Timer(INTERRUPT_GRACE_S, self._give_up)
        self._timer.daemon = True
        self._timer.start()

    def _give_up(self, at_once: bool = False) -> None:
        with self._lock:  # held until the process exits: the main thread cannot report meanwhile
            if self._ended:
                return
            why = "interrupted again" if at_once else f"the run did not stop within {INTERRUPT_GRACE_S:g} s"
            try:
                self.say(f"{why}: recording run {self.run_id} as cancelled and quitting")
            except Exception:  # noqa: BLE001
                pass
            try:
                open_store().record_finished(self.run_id, "cancelled", error={
                    "message": f"interrupted (Ctrl-C or SIGTERM); {why}, so the process quit",
                    "details": {}, "type": "Interrupted", "node": None})
            except Exception:  # noqa: BLE001 - no history, or no such run: quit all the same
                pass
            os._exit(EXIT_INTERRUPTED)

    def close(self) -> None:
        """The run has ended: disarm the watchdog and put the previous handlers back."""
        with self._lock:
            self._ended = True
        if self._timer is not None:
            self._timer.cancel()
        for sig, previous in self._previous.items():
            try:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
            except (ValueError, OSError, RuntimeError):
                pass
        self._previous.clear()
