"""The cyclic collector's young generation while runs are going: collected every 10,000 net new
container objects instead of Python's 700.

A run keeps its nodes in flight alive (their requests, contexts, parsed answers): with a fan-out
of 1,000 chat calls, or 32 webhook runs at once, every young collection walks those objects
again, passes the survivors on to the middle generation and walks them there again. Measured in
process: a fan-out of 1,000 chat calls spent about 70 ms of a 0.9 s run in the collector (156
young, 15 middle collections), 7 ms with the threshold raised (29 young, 3 middle); 21,000 runs
of a served Webhook + Set flow made 2,083 young, 189 middle and 17 full collections, about 9 us
a run, against 20, 1 and 0. A finished run is freed by reference counting
(tests/engine/test_run_freed.py), so little is left for the collector whenever it runs; at most
10,000 objects of cyclic garbage (a few MiB) wait for it.

The threshold is process-wide: it is raised when the first holder begins and put back when the
last one ends, unless something else changed it meanwhile (the editor's collector policy,
studio/ui/collector.py, changes only the full passes). Every run holds it while it goes on;
`studio serve` holds it for as long as it serves (a webhook run is a small part of its request,
and the requests waiting for runs are objects in flight too), `studio run` and `studio resume`
from their set-up to their end. A threshold already higher, or 0 (automatic collection off), is
left as it is."""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator

YOUNG_THRESHOLD = 10_000

_lock = threading.Lock()  # runs may go on in several threads (each its own loop)
_holders = 0
_saved: int | None = None  # the young threshold before the first holder; None: not changed


def hold() -> None:
    """A run (or a server of runs) begins: raise the threshold if this is the first holder."""
    global _holders, _saved
    with _lock:
        _holders += 1
        if _holders == 1:
            young, middle, old = gc.get_threshold()
            if 0 < young < YOUNG_THRESHOLD:
                _saved = young
                gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def release() -> None:
    """A holder ends: put the threshold back if it was the last one."""
    global _holders, _saved
    with _lock:
        _holders -= 1
        if _holders == 0 and _saved is not None:
            young, middle, old = gc.get_threshold()
            if young == YOUNG_THRESHOLD:  # nobody changed it meanwhile
                gc.set_threshold(_saved, middle, old)
            _saved = None


@contextlib.contextmanager
def held() -> Iterator[None]:
    hold()
    try:
        yield
    finally:
        release()
