"""What a run reports while it happens: plain, JSON-able `RunEvent`s handed to callbacks.

This is the one event mechanism of the core: the headless runner prints them, the history store
records them, and the desktop editor bridges them to Qt signals (in `studio/ui`), so nothing here
knows about any toolkit."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, get_args

log = logging.getLogger(__name__)

EventType = Literal[
    "run_started",
    "node_queued",
    "node_started",
    "node_retrying",
    "node_succeeded",
    "node_failed",
    "node_skipped",
    "node_waiting",
    "node_cancelled",
    "progress",
    "delta",  # a piece of streamed text: data["text"]
    "usage",  # tokens one call used: data["usage"] = {prompt_tokens, completion_tokens, total_tokens}
    "tool_call",
    "tool_result",
    "handoff",
    "run_finished",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))

# Event kinds a handler may emit through `NodeContext.emit(kind, **data)`; anything else is
# reported as "progress" with data["kind"] set, so a handler can never break the run by emitting.
HANDLER_EVENT_TYPES: frozenset[str] = frozenset({"progress", "delta", "usage", "tool_call", "tool_result", "handoff"})

# Final node states; every node of a finished run is in one of these.
NODE_FINAL_STATES = frozenset({"succeeded", "failed", "skipped", "cancelled", "waiting"})

_sequence = itertools.count(1)


@dataclass(frozen=True)
class RunEvent:
    type: str
    run_id: str
    node_id: str | None = None
    node_name: str | None = None
    ts: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)
    # Increases with every event of the process, so consumers can order events that share a ts.
    seq: int = field(default_factory=lambda: next(_sequence))

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "run_id": self.run_id,
            "node_id": self.node_id,
            "node_name": self.node_name,
            "ts": self.ts,
            "seq": self.seq,
            "data": self.data,
        }


EventCallback = Callable[[RunEvent], Any]


class EventBus:
    """A list of callbacks called in order for every event (or, for a callback subscribed with
    `types`, for the events of those types only).

    Synchronously, unless `deliver_later(loop)` was called: a running run does, so that its
    listeners (progress lines, the history's steps, the editor) are served after the work that
    cannot wait. In a chain, a node's end and the next node's start would otherwise be reported
    between the answer to one request and the sending of the next: every listener's work a node
    added to the run's wall time. Held back, events are handed over together `DELIVERY_DELAY_S`
    after the first of them, while the loop waits for the server; every event still reaches
    every callback, in order, and `deliver_now()` (the run's end) hands over what waits before
    the run's result exists.

    A failing callback is logged and skipped: a broken display must not break the run."""

    DELIVERY_DELAY_S = 0.002  # late by this much at most: nobody watching sees it; a chain node's sending is done by then

    def __init__(self, *callbacks: EventCallback | None) -> None:
        self._callbacks: list[tuple[EventCallback, frozenset[str] | None]] = [
            (cb, None) for cb in callbacks if cb is not None]
        self._update()
        self._loop: asyncio.AbstractEventLoop | None = None  # set: events wait for `_delivery`
        self._waiting: list[RunEvent] = []
        self._delivery: asyncio.TimerHandle | None = None

    def _update(self) -> None:
        everything, wanted = False, frozenset()
        for _, types in self._callbacks:  # (a run has one or two callbacks: no generators per run)
            if types is None:
                everything = True
            elif types:
                wanted = types if not wanted else wanted | types
        self._everything = everything
        self._types: frozenset[str] = wanted

    def deliver_later(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on, hold events back and hand them over from `loop` (emit only from its thread)."""
        self._loop = loop

    def deliver_now(self) -> None:
        """Hand over every event held back, and from now on each at once."""
        self._loop = None
        self.flush()

    def flush(self) -> None:
        """Hand over the events held back, in order (one a callback emits meanwhile waits its turn)."""
        if self._delivery is not None:
            self._delivery.cancel()  # (called by it, or before it: either way it is done)
            self._delivery = None
        if self._waiting:
            waiting, self._waiting = self._waiting, []
            for event in waiting:
                self._deliver(event)

    def subscribe(self, callback: EventCallback, types: frozenset[str] | None = None) -> Callable[[], None]:
        """Add `callback` (for every event, or those whose type is in `types`); returns a
        function that removes it again."""
        entry = (callback, None if types is None else frozenset(types))
        self.flush()  # the events held back came before it subscribed
        self._callbacks.append(entry)
        self._update()

        def unsubscribe() -> None:
            if entry in self._callbacks:
                self.flush()  # the events held back came while it was subscribed
                self._callbacks.remove(entry)
                self._update()

        return unsubscribe

    @property
    def listening(self) -> bool:
        """Whether any callback would see some event."""
        return bool(self._callbacks)

    def wants(self, event_type: str) -> bool:
        """Whether any callback would see an event of `event_type` (if not, a run builds none)."""
        return self._everything or event_type in self._types

    def emit(self, event: RunEvent) -> None:
        loop = self._loop
        if loop is None:
            self._deliver(event)
            return
        self._waiting.append(event)
        if self._delivery is None:
            self._delivery = loop.call_later(self.DELIVERY_DELAY_S, self.flush)

    def _deliver(self, event: RunEvent) -> None:
        for callback, types in list(self._callbacks):
            if types is not None and event.type not in types:
                continue
            try:
                callback(event)
            except Exception:  # a listener's bug is logged, never allowed to stop the run
                log.exception("run event listener %r failed on %s", callback, event.type)
