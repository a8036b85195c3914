"""`studio serve`'s line per run: every run gets one while runs are few; past LINES_PER_SECOND
in a second the rest of that second is one line counting them by status, said when the second
is over (even if no run follows) or when serving stops."""

from __future__ import annotations

import asyncio
import logging

from studio.runs.run_lines import RunLines


def _logger(name: str, caplog) -> logging.Logger:
    caplog.set_level(logging.INFO, logger=f"test.run_lines.{name}")
    return logging.getLogger(f"test.run_lines.{name}")


def _lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name.startswith("test.run_lines.")]


def test_past_the_limit_a_second_s_runs_are_counted_by_status_in_one_line(caplog):
    logger = _logger("fold", caplog)
    now = [100.2]
    runs = RunLines(logger, per_second=3, clock=lambda: now[0])
    for i, status in enumerate(["succeeded"] * 3 + ["succeeded", "failed", "succeeded"]):
        runs.run(status, "run %s: %s", f"r{i}", status)
    assert _lines(caplog) == ["run r0: succeeded", "run r1: succeeded", "run r2: succeeded"]
    now[0] = 101.05  # the next second: its first run is listed after the last second's count
    runs.run("failed", "run %s: %s", "r6", "failed")
    assert _lines(caplog)[3:] == [
        "3 more run(s) in that second, not listed one by one (2 succeeded, 1 failed); "
        "`studio history` lists every run",
        "run r6: failed",
    ]
    runs.report()  # nothing folded since: no line
    assert len(_lines(caplog)) == 5


def test_a_folded_second_is_said_when_it_ends_even_if_no_run_follows(caplog):
    logger = _logger("timer", caplog)

    async def serve() -> tuple[list[str], list[str]]:
        runs = RunLines(logger, per_second=2, clock=lambda: 50.5)  # half of the second is left
        for i in range(7):
            runs.run("succeeded", "run %s", i)
        listed = _lines(caplog)
        await asyncio.sleep(0.7)
        return listed, _lines(caplog)

    listed, after = asyncio.run(serve())
    assert listed == ["run 0", "run 1"]  # the other five wait for the end of their second
    assert after[2:] == ["5 more run(s) in that second, not listed one by one (5 succeeded); "
                         "`studio history` lists every run"]
