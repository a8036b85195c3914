"""When Python's cyclic garbage collector makes its full passes in the editor.

A full (generation 2) collection walks every tracked object that is not frozen, in one piece
on the Qt thread. After the editor's first run has imported the OpenAI SDK and built its
clients, one such pass took 50 ms and fell in the middle of a later run's badge updates, one
run in four or five: the window's longest stall. So while a run is going, full passes wait
(the young generations, where a run's short-lived cycles die, are still collected); when the
run ends, one full pass runs on the loop's next idle turn and what survives it is frozen
(`gc.freeze`), so later full passes walk only what is new. Opening a flow (the canvas's
`rebuild`) unfreezes everything and collects once, so frozen garbage does not outlive it."""

from __future__ import annotations

import gc

from qtpy.QtCore import QTimer

DEFERRED = 1 << 30  # generation-1 passes before a full one, while a run is going: never in practice


class RunCollector:
    """`run_started` / `run_finished` around every run (RunController calls them)."""

    def __init__(self) -> None:
        self._saved: int | None = None  # the oldest generation's threshold, while deferring

    @property
    def deferring(self) -> bool:
        return self._saved is not None

    # Only the oldest generation's threshold is changed and put back: the engine raises the
    # young one while runs are going (engine/young_collections.py), on its own schedule.
    def run_started(self) -> None:
        if self._saved is None:
            young, middle, self._saved = gc.get_threshold()
            gc.set_threshold(young, middle, DEFERRED)

    def run_finished(self) -> None:
        if self._saved is None:
            return
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, self._saved)
        self._saved = None
        QTimer.singleShot(0, self.collect_and_freeze)

    def collect_and_freeze(self) -> None:
        """The deferred full pass; skipped while another run is going or collection is off
        (the canvas pauses it while it builds)."""
        if self._saved is None and gc.isenabled():
            gc.collect()
            gc.freeze()
