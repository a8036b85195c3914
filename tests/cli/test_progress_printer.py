"""`studio run`'s progress lines: while the run's loop turns, lines are written together, one
write at most every WRITE_EVERY_S (a chain node's lines were two writes into a pipe), and none
is lost: the run's end writes what waits. Outside a loop a line is written at once. The lines
show no node outputs, so `studio run` builds no output previews for them."""

from __future__ import annotations

import asyncio
import io
import json

from studio.flow.io import save_flow
from studio.flow.models import Endpoint, Flow, Node, Position, Wire
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


def test_studio_run_prints_each_node_end_without_building_an_output_preview(tmp_path, monkeypatch, capsys):
    from studio.cli import main
    from studio.engine import node_states
    from studio.runs import terminal

    start = Node(id="start", name="Start", action="trigger.manual", position=Position(x=0, y=0))
    fields = Node(id="set", name="Set", action="core.set", position=Position(x=300, y=0),
                  values={"include": "none", "assignments": [{"name": "ok", "type": "boolean", "value": "true"}]})
    path = tmp_path / "set.flow.json"
    save_flow(Flow(name="previews", nodes=[start, fields],
                   wires=[Wire(source=Endpoint(node="start", port="output"), target=Endpoint(node="set", port="in"))]),
              path)
    previews: list[object] = []
    monkeypatch.setattr(node_states, "preview", lambda value: previews.append(value) or "p")
    monkeypatch.setattr(terminal, "freeze_loaded", lambda **_: None)  # (not this test process's heap)
    assert main(["run", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "succeeded"
    assert "Start: succeeded" in err and "Set: succeeded" in err
    assert previews == []


def test_a_node_line_is_stamped_with_the_time_of_its_event_not_of_its_delivery():
    from studio.engine.events import RunEvent
    from studio.runs.terminal import progress_callback

    stream = CountingStream()
    printer = ProgressPrinter(stream)
    on_event = progress_callback(printer)
    # A run hands its events over together, a little after they happen: the line says when the
    # node ended (its event's ts), 2.5 s after the printer started here.
    on_event(RunEvent(type="node_succeeded", run_id="r", node_id="a", node_name="Ask",
                      ts=printer.started + 2.5, data={"duration_ms": 812.0}))
    printer.flush()
    assert stream.getvalue() == "[+  2.500s] Ask: succeeded (812 ms)\n"
