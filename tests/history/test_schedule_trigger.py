"""The Schedule trigger fires on a fake clock: cron in a time zone, intervals, bad settings."""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from studio.triggers.schedule import Schedule, ScheduleError, run_schedule


class FakeClock:
    """Time moves only when the schedule sleeps: each sleep jumps straight to its wake-up time."""

    def __init__(self, start: float) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, when: float) -> None:
        self.sleeps.append(when)
        self.t = max(self.t, when)
        await asyncio.sleep(0)


def ts(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def test_cron_next_time_honours_the_time_zone():
    schedule = Schedule(cron="0 9 * * *", tz="Europe/Paris").checked()
    # 07:30 UTC on 1 July is 09:30 in Paris (summer time): next 09:00 Paris is the following day.
    nxt = schedule.next_after(ts("2026-07-01T07:30:00"))
    assert nxt == ts("2026-07-02T09:00:00", "Europe/Paris")
    assert nxt == ts("2026-07-02T07:00:00")


def test_interval_schedule_adds_the_interval():
    assert Schedule(interval_s=90).checked().next_after(1000.0) == 1090.0


@pytest.mark.parametrize("kwargs, field", [
    ({}, "either"),
    ({"cron": "* * * * *", "interval_s": 5}, "either"),
    ({"cron": "every day"}, "Cron Expression"),
    ({"interval_s": -1}, "Interval (seconds)"),
    ({"cron": "* * * * *", "tz": "Mars/Olympus"}, "Time Zone"),
])
def test_bad_schedules_name_the_field(kwargs, field):
    with pytest.raises(ScheduleError, match=field.replace("(", r"\(").replace(")", r"\)")):
        Schedule(**kwargs).checked()


def test_from_inputs_reads_the_trigger_values():
    s = Schedule.from_inputs({"cron": "*/5 * * * *", "timezone": "America/New_York"})
    assert (s.cron, s.interval_s, s.tz) == ("*/5 * * * *", None, "America/New_York")


async def test_schedule_fires_on_a_fake_clock_until_stopped():
    clock = FakeClock(ts("2026-01-01T00:00:30"))
    stop = asyncio.Event()
    fired: list[float] = []

    async def fire(when: float) -> None:
        fired.append(when)
        if len(fired) == 3:
            stop.set()

    await asyncio.wait_for(run_schedule(Schedule(cron="* * * * *").checked(), fire, clock=clock, stop=stop), 5)
    assert fired == [ts("2026-01-01T00:01:00"), ts("2026-01-01T00:02:00"), ts("2026-01-01T00:03:00")]


async def test_a_slow_firing_does_not_pile_up_missed_ticks():
    clock = FakeClock(0.0)
    stop = asyncio.Event()
    fired: list[float] = []

    async def slow_fire(when: float) -> None:
        fired.append(when)
        clock.t += 35  # the run takes longer than three 10 s intervals
        if len(fired) == 2:
            stop.set()

    await asyncio.wait_for(run_schedule(Schedule(interval_s=10).checked(), slow_fire, clock=clock, stop=stop), 5)
    assert fired == [10.0, 55.0]
