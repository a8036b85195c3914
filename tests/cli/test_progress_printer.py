"""`studio run`'s progress lines: while the run's loop turns, lines are written together, one
write at most every WRITE_EVERY_S (a chain node's lines were two writes into a pipe), and none
is lost: the run's end writes what waits. Outside a loop a line is written at once."""

from __future__ import annotations

import asyncio
import io

from studio.runs.terminal import ProgressPrinter


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_of_many_loop_turns_are_written_together_and_nothing_is_lost():
    stream = CountingStream()
    printer = ProgressPrinter(stream)

    async def run() -> tuple[int, int]:
        for i in range(30):  # three lines a node over many turns of the loop, as a fast chain gives
            printer.line(f"Node {i}: started")
            await asyncio.sleep(0)
            printer.line(f"Node {i}: succeeded (1 ms)")
            await asyncio.sleep(0)
        during = stream.writes
        await asyncio.sleep(printer.WRITE_EVERY_S * 2)
        return during, stream.writes

    during, after_a_while = asyncio.run(run())
    assert during == 0  # nothing written yet: within the first interval
    assert after_a_while == 1  # then all 60 lines at once
    lines = stream.getvalue().splitlines()
    assert len(lines) == 60 and lines[0].endswith("Node 0: started") and lines[-1].endswith("Node 29: succeeded (1 ms)")


def test_lines_waiting_when_the_loop_ends_are_written_by_flush_and_lines_outside_a_loop_at_once():
    stream = CountingStream()
    printer = ProgressPrinter(stream)

    async def run() -> None:
        printer.line("Last: succeeded (2 ms)")  # the loop closes before its write is due

    asyncio.run(run())
    assert stream.getvalue() == ""
    printer.flush()  # what run_in_terminal does once the run's loop is gone
    assert stream.getvalue().endswith("Last: succeeded (2 ms)\n") and stream.writes == 1
    printer.line("run abc succeeded in 3 ms")
    assert stream.getvalue().endswith("run abc succeeded in 3 ms\n") and stream.writes == 2
    asyncio.run(run())  # a later loop (studio resume after a run): its lines get a write of their own
    printer.flush()
    assert stream.getvalue().count("Last: succeeded") == 2
