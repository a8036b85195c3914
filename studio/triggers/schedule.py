"""When a Schedule trigger fires: a cron expression (in a time zone) or a fixed interval.

The clock is injected so tests run a schedule on a fake clock instead of waiting for real time."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


class ScheduleError(ValueError):
    """A schedule trigger's settings cannot describe a schedule; the message names the field."""


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, when: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.time()))


@dataclass(frozen=True)
class Schedule:
    cron: str | None = None
    interval_s: float | None = None
    tz: str = "UTC"

    @classmethod
    def from_inputs(cls, values: dict[str, Any]) -> "Schedule":
        """Build from a `trigger.schedule` node's values (catalog keys `cron`, `interval_seconds`, `timezone`)."""
        cron = (values.get("cron") or "").strip() or None
        interval = values.get("interval_seconds")
        tz = (values.get("timezone") or "UTC").strip() or "UTC"
        return cls(cron=cron, interval_s=float(interval) if interval not in (None, "", 0) else None, tz=tz).checked()

    def checked(self) -> "Schedule":
        if (self.cron is None) == (self.interval_s is None):
            raise ScheduleError("Schedule trigger: set either 'Cron Expression' or 'Interval (seconds)', not both or neither")
        if self.interval_s is not None and self.interval_s <= 0:
            raise ScheduleError(f"Schedule trigger 'Interval (seconds)': expected a positive number, got {self.interval_s}")
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise ScheduleError(f"Schedule trigger 'Cron Expression': {self.cron!r} is not a valid cron expression "
                                "(expected five fields: minute hour day-of-month month day-of-week)")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"Schedule trigger 'Time Zone': unknown time zone {self.tz!r} "
                                "(expected an IANA name such as 'Europe/Paris')") from None
        return self

    def next_after(self, when: float) -> float:
        """The first firing time strictly after `when` (epoch seconds)."""
        if self.interval_s is not None:
            return when + self.interval_s
        local = datetime.fromtimestamp(when, tz=timezone.utc).astimezone(ZoneInfo(self.tz))
        return croniter(self.cron, local).get_next(datetime).timestamp()


async def run_schedule(schedule: Schedule, fire: Callable[[float], Awaitable[None]], *,
                       clock: Clock | None = None, stop: asyncio.Event | None = None) -> None:
    """Call `fire(scheduled_time)` at every firing time until `stop` is set. A firing that is still
    running when the next one is due is not doubled: the next waits for it (no pile-up)."""
    clock = clock or RealClock()
    stop = stop or asyncio.Event()
    due = schedule.next_after(clock.now())
    while not stop.is_set():
        sleeper = asyncio.ensure_future(clock.sleep_until(due))
        stopper = asyncio.ensure_future(stop.wait())
        done, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if stopper in done:
            return
        await fire(due)
        due = schedule.next_after(max(due, clock.now()))
