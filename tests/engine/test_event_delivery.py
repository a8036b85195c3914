"""When a run's listeners get its events: held back while nodes run, so the next node of a chain
starts (and sends its request) before listeners hear of the last one's end, yet every event
reaches every listener, in order, before the run's result exists."""

from __future__ import annotations

import asyncio
from typing import Any

from engine_testkit import CATALOG, Graph, Probe, make_registry
from studio.engine.context import NodeContext
from studio.engine.events import EventBus, RunEvent
from studio.engine.executor import start_run


def _event(kind: str, name: str | None = None) -> RunEvent:
    return RunEvent(type=kind, run_id="r", node_name=name)


async def test_the_next_node_of_a_chain_starts_before_listeners_hear_of_the_last_ones_end(monkeypatch):
    # Held back for a minute here, events reach the listener only when the run ends: what each
    # node saw the listener holding when it started shows the next node never waits for it.
    monkeypatch.setattr(EventBus, "DELIVERY_DELAY_S", 60.0)
    registry = make_registry(Probe())
    heard: list[RunEvent] = []
    heard_at_start: dict[str, list[str]] = {}

    @registry.register("test.wait")
    async def note(ctx: NodeContext) -> Any:
        heard_at_start[ctx.node.name] = [e.type for e in heard]
        return ctx.node.name

    g = Graph().add("Start", "trigger.manual").add("A", "test.wait").add("B", "test.wait").chain("Start", "A", "B")
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry, on_event=heard.append)
    result = await asyncio.wait_for(handle.result(), 10)
    assert result.status == "succeeded"
    assert heard_at_start == {"A": ["run_started"], "B": ["run_started"]}
    # Everything arrived, in the order it happened, with run_finished last.
    assert [e.seq for e in heard] == [e.seq for e in result.events]
    assert [e.seq for e in heard] == sorted(e.seq for e in heard)
    assert [(e.type, e.node_name) for e in heard if e.node_name == "B"] == [
        ("node_queued", "B"), ("node_started", "B"), ("node_succeeded", "B")]
    assert heard[-1].type == "run_finished"


async def test_a_listener_hears_of_a_long_node_while_it_still_runs():
    registry = make_registry(Probe())
    heard: list[RunEvent] = []
    heard_while_running: list[tuple[str, str | None]] = []

    @registry.register("test.wait")
    async def slow(ctx: NodeContext) -> Any:
        await asyncio.sleep(0.3)  # far longer than DELIVERY_DELAY_S
        heard_while_running.extend((e.type, e.node_name) for e in heard)
        return "done"

    g = Graph().add("Start", "trigger.manual").add("Slow", "test.wait").chain("Start", "Slow")
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry, on_event=heard.append)
    assert (await asyncio.wait_for(handle.result(), 10)).status == "succeeded"
    assert ("node_started", "Slow") in heard_while_running
    assert ("node_succeeded", "Start") in heard_while_running


async def test_held_events_keep_their_order_when_a_listener_emits_and_reach_only_who_listened_then():
    bus = EventBus()
    first: list[str] = []
    bus.subscribe(lambda e: first.append(e.type))

    def answer(event: RunEvent) -> None:  # a listener whose reaction is itself an event (a cancel)
        if event.type == "one":
            bus.emit(_event("reaction"))

    bus.subscribe(answer)
    bus.deliver_later(asyncio.get_running_loop())
    bus.emit(_event("one"))
    bus.emit(_event("two"))
    assert first == []  # held back
    late: list[str] = []
    bus.subscribe(lambda e: late.append(e.type))  # the held events came before it subscribed
    assert first == ["one", "two"] and late == []
    bus.emit(_event("three"))
    await asyncio.sleep(EventBus.DELIVERY_DELAY_S * 5)
    assert first == ["one", "two", "reaction", "three"]
    assert late == ["reaction", "three"]
    bus.emit(_event("four"))
    bus.deliver_now()  # the run's end: what waits is handed over, and each later event at once
    assert first[-1] == "four"
    bus.emit(_event("five"))
    assert first[-1] == "five" and late[-1] == "five"


async def test_an_unsubscribing_listener_still_gets_what_came_while_it_listened():
    bus = EventBus()
    got: list[str] = []
    unsubscribe = bus.subscribe(lambda e: got.append(e.type))
    bus.deliver_later(asyncio.get_running_loop())
    bus.emit(_event("before"))
    unsubscribe()
    bus.emit(_event("after"))
    bus.deliver_now()
    assert got == ["before"]
