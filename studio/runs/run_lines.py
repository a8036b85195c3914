"""`studio serve`'s line per run, kept readable under load.

The first `LINES_PER_SECOND` runs that end in a second of the clock get a line each; the rest
of that second are folded into one line that counts them by status. At thousands of runs a
second a line each could not be read on stderr, cost about 6% of the server's time, and rotated
the log file's 10 MB away (the lines of failures with the rest) in under a minute. Every run is
still in the history, with its error: `studio history` lists them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any, Callable

LINES_PER_SECOND = 20


class RunLines:
    """Logs run lines on `logger` at INFO, at most `per_second` of them in each second of
    `clock`; the others of that second become one line once it is over. Call from one loop."""

    def __init__(self, logger: logging.Logger, *, per_second: int = LINES_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._per_second = per_second
        self._clock = clock
        self._second = -1  # the second of the clock the counts below are for
        self._listed = 0
        self._folded: Counter[str] = Counter()  # status -> runs of this second not listed
        self._report_due: asyncio.TimerHandle | None = None

    def run(self, status: str, message: str, *args: Any) -> None:
        """A run's line (`message % args`, as logging formats it) for a run that is now `status`."""
        now = self._clock()
        second = int(now)
        if second != self._second:
            self.report()
            self._second, self._listed = second, 0
        if self._listed < self._per_second:
            self._listed += 1
            self._log.info(message, *args)
            return
        self._folded[status] += 1
        if self._report_due is None:  # said when the second is over, even if no run comes after
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._report_due = loop.call_later(max(0.0, second + 1 - now), self.report)

    def report(self) -> None:
        """Log the runs folded so far, if any (the end of their second, or serving stops)."""
        if self._report_due is not None:
            self._report_due.cancel()
            self._report_due = None
        if not self._folded:
            return
        counts = ", ".join(f"{count} {status}" for status, count in self._folded.most_common())
        total = sum(self._folded.values())
        self._folded.clear()
        self._log.info("%d more run(s) in that second, not listed one by one (%s); `studio history` lists "
                       "every run", total, counts)
