"""The executor on small graphs of test actions: scheduling, data flow, errors, branching,
waiting, cancellation and partial runs."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from engine_testkit import CATALOG, Graph, Probe, make_registry
from studio.engine.events import NODE_FINAL_STATES
from studio.engine.executor import RunResult, run_flow, start_run


@pytest.fixture
def probe() -> Probe:
    return Probe()


async def run(graph: Graph, probe: Probe, **kw) -> RunResult:
    return await run_flow(graph.flow(), catalog=CATALOG, registry=make_registry(probe), **kw)


def statuses(result: RunResult) -> dict[str, str]:
    return {r.node_name: r.status for r in result.nodes.values()}


def assert_all_final(result: RunResult) -> None:
    assert all(r.status in NODE_FINAL_STATES for r in result.nodes.values()), statuses(result)


# --- data flow ---------------------------------------------------------------------------------


async def test_linear_chain_passes_values_downstream(probe, tmp_path):
    g = Graph().add("Start", "trigger.manual").add("A").add("B").add("C").chain("Start", "A", "B", "C")
    result = await run(g, probe, trigger_payload={"x": 1}, run_dir=tmp_path)
    assert result.status == "succeeded"
    assert [result.output(n) for n in ("Start", "A", "B", "C")] == [{"x": 1}] * 4
    assert result.trigger == {"x": 1}
    assert result.node("C").attempts == 1
    assert json.loads(json.dumps(result.to_json(include_events=True)))["status"] == "succeeded"


async def test_manual_trigger_fills_declared_defaults(probe):
    fields = [{"name": "topic", "default": "dogs"}, {"name": "tone", "default": "dry"}]
    g = Graph().add("Start", "trigger.manual", values={"fields": fields}).add("A", values={"value": "{{ trigger.tone }}/{{ trigger.topic }}"})
    g.chain("Start", "A")
    result = await run(g, probe, trigger_payload={"topic": "cats"})
    assert result.output("Start") == {"topic": "cats", "tone": "dry"}
    assert result.output("A") == "dry/cats"


async def test_expressions_read_other_nodes_input_and_run(probe):
    g = Graph().add("Start", "trigger.manual")
    g.add("Make", values={"value": {"items": [{"name": "first"}, {"name": "second"}], "n": 2}})
    g.add("Use", values={"value": {
        "second": "{{ nodes.Make.output.items[1].name }}",
        "count": "{{ nodes['Make'].output.items | length }}",
        "raw": "{{ input.n }}",
        "text": "n={{ input.n }} items={{ input.items | length }} run={{ run.id }}",
        "whole": "{{ nodes.Make.output }}",
    }})
    g.chain("Start", "Make", "Use")
    result = await run(g, probe, run_id="r-42")
    out = result.output("Use")
    assert out["second"] == "second"
    assert out["count"] == 2 and out["raw"] == 2
    assert out["text"] == "n=2 items=2 run=r-42"
    assert out["whole"] == {"items": [{"name": "first"}, {"name": "second"}], "n": 2}


async def test_expression_on_node_that_has_not_run_fails_naming_it(probe):
    g = Graph().add("Start", "trigger.manual").add("Early", values={"text": "{{ nodes.Late.output }}"}).add("Late")
    g.chain("Start", "Early", "Late")
    result = await run(g, probe)
    assert result.status == "failed"
    err = result.node("Early").error
    assert "nodes.Late has no output yet" in err["message"] and "'Text'" in err["message"]
    assert result.node("Late").status == "skipped"


async def test_upstream_data_holding_braces_is_not_evaluated(probe):
    g = Graph().add("Start", "trigger.manual").add("A", values={"value": "{{ trigger.text }}"}).add("B", values={"text": "{{ input }}"})
    g.chain("Start", "A", "B")
    result = await run(g, probe, trigger_payload={"text": "{{ run.id }}"})
    assert result.output("A") == "{{ run.id }}"
    assert result.node("B").inputs["text"] == "{{ run.id }}"


async def test_fan_out_fan_in_collects_in_port_values_in_wire_order(probe):
    g = Graph().add("Start", "trigger.manual").add("L", values={"value": "left"}).add("R", values={"value": "right"})
    g.add("Join", "test.collect").chain("Start", "L").chain("Start", "R")
    g.wire("R", "Join", target_port="items").wire("L", "Join", target_port="items").wire("L", "Join")
    result = await run(g, probe)
    assert result.output("Join") == {"items": ["right", "left"], "agent": None, "upstream": "left"}


async def test_actions_with_several_outputs_send_each_port_its_key(probe):
    g = Graph().add("Start", "trigger.manual").add("Split", "test.split").add("GetL").add("GetR")
    g.chain("Start", "Split").wire("Split", "GetL", "left").wire("Split", "GetR", "right")
    result = await run(g, probe)
    assert (result.output("GetL"), result.output("GetR")) == (1, 2)


async def test_a_one_output_action_passes_a_dict_whole_even_if_its_keys_name_ports(probe):
    # The usual node's ports are one shared marker meaning "every normal port carries the output":
    # a dict output must reach the next node whole, not split by key as a several-output action's.
    g = Graph().add("Start", "trigger.manual").add("A", values={"value": {"output": 1, "yes": 2}}).add("B")
    g.chain("Start", "A", "B")
    result = await run(g, probe)
    assert result.output("B") == {"output": 1, "yes": 2}


async def test_a_several_output_action_sends_its_whole_output_on_ports_it_has_no_key_for(probe):
    registry = make_registry(probe)
    registry.register("test.split", lambda ctx: _value({"left": 1, "other": 3}))
    g = Graph().add("Start", "trigger.manual").add("Split", "test.split").add("L").add("R")
    g.chain("Start", "Split").wire("Split", "L", "left").wire("Split", "R", "right")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry)
    assert result.output("L") == 1
    assert result.output("R") == {"left": 1, "other": 3}


async def _value(value):
    return value


async def test_nodes_without_inputs_or_usage_share_one_read_only_empty_dict(probe):
    from studio.engine.results import NOTHING

    g = Graph().add("Start", "trigger.manual").add("U", "test.usage").add("Split", "test.split")
    g.chain("Start", "U", "Split")
    result = await run(g, probe)
    split = result.node("Split")
    assert split.inputs == {} and split.inputs is NOTHING and split.usage is NOTHING
    assert json.dumps(split.to_json()["inputs"]) == "{}"
    assert result.node("U").usage["total_tokens"] == 11  # the first usage report gets the node its own dict
    with pytest.raises(TypeError, match="shared"):
        split.inputs["x"] = 1
    with pytest.raises(TypeError, match="shared"):
        split.usage.update(total_tokens=1)
    assert NOTHING == {}


async def test_artifacts_become_their_json_description(probe, tmp_path):
    g = Graph().add("Start", "trigger.manual").add("Art", "test.artifact").chain("Start", "Art")
    result = await run(g, probe, run_dir=tmp_path)
    file = result.output("Art")["file"]
    assert file["artifact"] is True and file["size"] == 2 and file["media_type"] == "text/plain"
    assert open(file["path"], "rb").read() == b"hi"
    assert file["path"].startswith(str(tmp_path))


# --- concurrency ---------------------------------------------------------------------------------


async def test_independent_branches_run_concurrently(probe):
    g = Graph().add("Start", "trigger.manual")
    for i in range(6):
        g.add(f"S{i}", "test.sleep").wire("Start", f"S{i}")
    began = time.monotonic()
    result = await run(g, probe)
    elapsed = time.monotonic() - began
    assert result.status == "succeeded"
    assert probe.max_in_flight == 6
    assert elapsed < 6 * 0.2 / 2  # serial would take 1.2 s; concurrent about 0.2 s


async def test_concurrency_limit_is_respected(probe):
    g = Graph().add("Start", "trigger.manual")
    for i in range(7):
        g.add(f"S{i}", "test.sleep", values={"delay_ms": 50}).wire("Start", f"S{i}")
    result = await run(g, probe, max_concurrency=3)
    assert result.status == "succeeded"
    assert probe.max_in_flight == 3


async def test_fan_in_waits_for_every_branch(probe):
    g = Graph().add("Start", "trigger.manual").add("Fast", "test.sleep", values={"delay_ms": 10})
    g.add("Slow", "test.sleep", values={"delay_ms": 150}).add("Join", "test.collect")
    g.chain("Start", "Fast", "Join").chain("Start", "Slow", "Join")
    result = await run(g, probe)
    join = result.node("Join")
    assert join.started_at >= result.node("Slow").finished_at
    assert [item["slept"] for item in join.output["upstream"]] == ["Fast", "Slow"]


# --- node options ------------------------------------------------------------------------------


async def test_disabled_node_passes_its_input_through(probe):
    g = Graph().add("Start", "trigger.manual").add("Off", values={"value": "replaced"}, disabled=True).add("After")
    g.chain("Start", "Off", "After")
    result = await run(g, probe, trigger_payload={"keep": True})
    off = result.node("Off")
    assert off.status == "skipped" and off.reason == "disabled" and off.output == {"keep": True}
    assert result.output("After") == {"keep": True}
    skipped = [e for e in result.events if e.node_name == "Off"]
    assert [(e.type, e.data.get("reason")) for e in skipped] == [("node_skipped", "disabled")]


async def test_timeout_fails_the_node_with_a_message(probe):
    g = Graph().add("Start", "trigger.manual").add("Slow", "test.sleep", values={"delay_ms": 5000, "timeout_ms": 50})
    g.chain("Start", "Slow")
    began = time.monotonic()
    result = await run(g, probe)
    assert time.monotonic() - began < 2
    slow = result.node("Slow")
    assert slow.status == "failed" and "timed out after 50 ms" in slow.error["message"]
    assert result.status == "failed" and result.error["node"] == "Slow"


async def test_retry_until_success_counts_attempts(probe):
    g = Graph().add("Start", "trigger.manual").add("Flaky", "test.fail", values={"fail_times": 2}, retry=(3, 10))
    g.chain("Start", "Flaky")
    result = await run(g, probe)
    assert result.status == "succeeded"
    assert result.node("Flaky").attempts == 3 and probe.attempts["Flaky"] == 3
    assert result.output("Flaky") == {"ok": 3}
    retrying = [e for e in result.events if e.type == "node_retrying"]
    assert [e.data["attempt"] for e in retrying] == [1, 2]


async def test_retry_gives_up_after_max_tries(probe):
    g = Graph().add("Start", "trigger.manual").add("Bad", "test.fail", retry=(3, 0)).chain("Start", "Bad")
    result = await run(g, probe)
    assert result.node("Bad").status == "failed" and probe.attempts["Bad"] == 3
    assert result.node("Bad").attempts == 3
    assert result.node("Bad").error["details"] == {"attempt": 3}


async def test_non_retryable_errors_are_not_retried(probe):
    g = Graph().add("Start", "trigger.manual").add("Bad", "test.fail", values={"retryable": False}, retry=(5, 0))
    g.chain("Start", "Bad")
    result = await run(g, probe)
    assert probe.attempts["Bad"] == 1 and result.node("Bad").status == "failed"


async def test_on_error_stop_cancels_in_flight_and_skips_the_rest(probe):
    g = Graph().add("Start", "trigger.manual").add("Pre", "test.sleep", values={"delay_ms": 50}).add("Bad", "test.fail")
    g.add("Long", "test.sleep", values={"delay_ms": 5000}).add("AfterBad").add("AfterLong")
    g.chain("Start", "Pre", "Bad", "AfterBad").chain("Start", "Long", "AfterLong")
    began = time.monotonic()
    result = await run(g, probe)
    assert time.monotonic() - began < 2
    assert result.status == "failed"
    assert result.error["message"] == "Bad: boom" and result.error["node"] == "Bad"
    assert statuses(result) == {"Start": "succeeded", "Pre": "succeeded", "Bad": "failed", "Long": "cancelled",
                                "AfterBad": "skipped", "AfterLong": "skipped"}
    assert probe.cancelled == ["Long"]
    assert result.node("AfterLong").reason == "run_stopped"


async def test_on_error_continue_lets_downstream_run_with_the_error(probe):
    g = Graph().add("Start", "trigger.manual").add("Bad", "test.fail", on_error="continue").add("After")
    g.chain("Start", "Bad", "After")
    result = await run(g, probe)
    assert result.status == "succeeded"
    assert result.node("Bad").status == "failed"
    after = result.output("After")
    assert after["error"]["message"] == "Bad: boom" and after["error"]["details"] == {"attempt": 1}


async def test_on_error_route_sends_the_error_out_of_the_error_port_only(probe):
    g = Graph().add("Start", "trigger.manual").add("Bad", "test.fail", on_error="route").add("Normal").add("Handler")
    g.chain("Start", "Bad", "Normal").wire("Bad", "Handler", "error")
    result = await run(g, probe)
    assert result.status == "succeeded"
    assert result.node("Normal").status == "skipped" and result.node("Normal").reason == "upstream_failed"
    handled = result.output("Handler")
    assert set(handled) == {"message", "details", "type", "node"}
    assert handled["message"] == "Bad: boom" and handled["type"] == "NodeError"


async def test_route_mode_on_success_uses_the_normal_port(probe):
    g = Graph().add("Start", "trigger.manual").add("Good", "test.fail", values={"fail_times": 0}, on_error="route")
    g.add("Normal").add("Handler").chain("Start", "Good", "Normal").wire("Good", "Handler", "error")
    result = await run(g, probe)
    assert result.output("Normal") == {"ok": 1}
    assert result.node("Handler").status == "skipped"


async def test_handler_crash_becomes_a_node_failure(probe):
    registry = make_registry(probe)

    @registry.register("test.echo")
    async def broken(ctx):
        return {}["missing"]

    g = Graph().add("Start", "trigger.manual").add("A").chain("Start", "A")
    result = await run_flow(g.flow(), catalog=CATALOG, registry=registry)
    assert result.status == "failed"
    assert result.node("A").error["message"] == "A: KeyError: 'missing'"


async def test_unknown_action_and_missing_handler_fail_clearly(probe):
    g = Graph().add("Start", "trigger.manual").add("Ghost", "test.nope").chain("Start", "Ghost")
    result = await run(g, probe)
    assert "unknown action 'test.nope'" in result.node("Ghost").error["message"]
    registry = make_registry(probe)
    g = Graph().add("Start", "trigger.manual").add("Art", "test.artifact").chain("Start", "Art")
    reg = type(registry)({k: registry.get(k) for k in registry if k != "test.artifact"})
    result = await run_flow(g.flow(), catalog=CATALOG, registry=reg)
    assert "no handler is installed for action 'test.artifact'" in result.node("Art").error["message"]


async def test_coercion_error_names_node_and_field_label(probe):
    g = Graph().add("Start", "trigger.manual").add("Typed", values={"count": "{{ trigger.n }}"}).chain("Start", "Typed")
    result = await run(g, probe, trigger_payload={"n": "many"})
    message = result.node("Typed").error["message"]
    assert message == "Typed: 'Item Count' expects a whole number, got 'many'"
    result = await run(g, probe, trigger_payload={"n": "12"})
    assert result.node("Typed").inputs["count"] == 12


# --- branching -----------------------------------------------------------------------------------


async def test_branch_routing_skips_the_branch_not_taken(probe):
    g = Graph().add("Start", "trigger.manual").add("If", "test.branch", values={"port": "{{ trigger.answer }}"})
    g.add("Yes").add("YesAfter").add("No").add("NoAfter").add("Merge")
    g.chain("Start", "If").wire("If", "Yes", "yes").chain("Yes", "YesAfter", "Merge")
    g.wire("If", "No", "no").chain("No", "NoAfter", "Merge")
    result = await run(g, probe, trigger_payload={"answer": "no"})
    assert result.status == "succeeded"
    s = statuses(result)
    assert (s["Yes"], s["YesAfter"]) == ("skipped", "skipped")
    assert result.node("Yes").reason == result.node("YesAfter").reason == "branch_not_taken"
    assert (s["No"], s["NoAfter"], s["Merge"]) == ("succeeded",) * 3
    assert result.output("Merge") == {"answer": "no"}  # only the active wire arrives
    events = [e for e in result.events if e.type == "node_succeeded" and e.node_name == "If"]
    assert events[0].data["port"] == "no"


async def test_node_with_every_input_inactive_is_skipped(probe):
    g = Graph().add("Start", "trigger.manual").add("If", "test.branch", values={"port": "yes"}).add("OnlyNo")
    g.chain("Start", "If").wire("If", "OnlyNo", "no")
    result = await run(g, probe)
    assert result.node("OnlyNo").status == "skipped"


async def test_only_one_trigger_fires(probe):
    g = Graph().add("Hook", "trigger.webhook").add("Start", "trigger.manual").add("FromHook").add("FromManual")
    g.chain("Hook", "FromHook").chain("Start", "FromManual")
    result = await run(g, probe, trigger_payload={"a": 1})
    assert result.trigger_node == "Start"
    assert statuses(result) == {"Hook": "skipped", "Start": "succeeded", "FromHook": "skipped", "FromManual": "succeeded"}
    result = await run(g, probe, trigger_payload={"b": 2}, trigger_node="Hook")
    assert result.output("FromHook") == {"b": 2} and result.node("FromManual").reason == "trigger_not_fired"


async def test_cycle_fails_the_run_before_anything_runs(probe):
    g = Graph().add("Start", "trigger.manual").add("A").add("B").add("Below").chain("Start", "A", "B", "Below").wire("B", "A")
    result = await run(g, probe)
    assert result.status == "failed"
    assert result.error["message"].startswith("the flow has a cycle through A, B;")
    assert result.error["details"] == {"nodes": ["A", "B"]}
    assert_all_final(result)


async def test_runs_sharing_a_plan_each_find_its_cycle_and_a_partial_run_checks_its_own_scope(probe):
    from studio.engine.plan import FlowPlan

    g = Graph().add("Start", "trigger.manual").add("A").add("B").add("C").chain("Start", "A", "B").wire("B", "A")
    g.chain("Start", "C")
    flow = g.flow()
    plan = FlowPlan.build(flow, CATALOG)
    first = await run_flow(flow, catalog=CATALOG, registry=make_registry(probe), plan=plan)
    first.error["details"]["nodes"].append("changed by a caller")
    second = await run_flow(flow, catalog=CATALOG, registry=make_registry(probe), plan=plan)
    assert first.status == second.status == "failed"
    assert second.error["details"] == {"nodes": ["A", "B"]}
    alone = await run_flow(flow, catalog=CATALOG, registry=make_registry(probe), plan=plan,
                           start_at=flow.nodes[3].id)  # C only: no cycle among what it runs
    assert alone.status == "succeeded"


# --- events, usage -------------------------------------------------------------------------------


async def test_events_per_node_come_in_order(probe):
    seen = []
    g = Graph().add("Start", "trigger.manual").add("A").add("S", "test.sleep", values={"delay_ms": 10}).chain("Start", "A", "S")
    result = await run(g, probe, on_event=seen.append)
    assert [e.type for e in seen] == [e.type for e in result.events]
    assert seen[0].type == "run_started" and seen[-1].type == "run_finished"
    assert seen[-1].data["status"] == "succeeded"
    for name in ("Start", "A", "S"):
        assert [e.type for e in seen if e.node_name == name] == ["node_queued", "node_started", "node_succeeded"]
    assert [e.seq for e in seen] == sorted(e.seq for e in seen)
    json.dumps([e.to_json() for e in seen])
    assert seen[-2].data["duration_ms"] >= 5


async def test_usage_and_streamed_text_are_reported(probe):
    g = Graph().add("Start", "trigger.manual").add("U1", "test.usage").add("U2", "test.usage", values={"tokens": 5})
    g.chain("Start", "U1", "U2")
    result = await run(g, probe)
    assert result.node("U1").usage == {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
    assert result.usage == {"prompt_tokens": 15, "completion_tokens": 2, "total_tokens": 17}
    deltas = [e.data["text"] for e in result.events if e.type == "delta" and e.node_name == "U1"]
    assert "".join(deltas) == "hello"
    custom = [e for e in result.events if e.type == "progress" and e.node_name == "U1"]
    assert custom[0].data == {"kind": "something_custom", "note": "x"}
    done = [e for e in result.events if e.type == "node_succeeded" and e.node_name == "U2"][0]
    assert done.data["usage"]["total_tokens"] == 6


async def test_a_failing_event_listener_does_not_break_the_run(probe):
    def listener(event):
        raise RuntimeError("display broke")

    g = Graph().add("Start", "trigger.manual").add("A").chain("Start", "A")
    result = await run(g, probe, on_event=listener)
    assert result.status == "succeeded"


# --- waiting, cancellation -----------------------------------------------------------------------


async def test_waiting_for_approval_pauses_the_run(probe):
    g = Graph().add("Start", "trigger.manual").add("Ask", "test.wait").add("AfterAsk").add("Other")
    g.chain("Start", "Ask", "AfterAsk").chain("Start", "Other")
    result = await run(g, probe)
    assert result.status == "waiting"
    assert statuses(result) == {"Start": "succeeded", "Ask": "waiting", "AfterAsk": "skipped", "Other": "succeeded"}
    assert result.node("AfterAsk").reason == "upstream_waiting"
    assert result.pending == [{"node_id": "Ask", "node_name": "Ask",
                               "requests": [{"tool": "delete_file", "args": {"path": "x"}}], "state": {"step": 3}}]
    assert [e.type for e in result.events if e.node_name == "Ask"][-1] == "node_waiting"


async def test_cancel_stops_every_node_quickly(probe):
    g = Graph().add("Start", "trigger.manual")
    for i in range(3):
        g.add(f"S{i}", "test.sleep", values={"delay_ms": 10_000}).wire("Start", f"S{i}").add(f"After{i}").wire(f"S{i}", f"After{i}")
    handle = start_run(g.flow(), catalog=CATALOG, registry=make_registry(probe))
    while probe.in_flight < 3:
        await asyncio.sleep(0.01)
    began = time.monotonic()
    handle.cancel()
    result = await handle.result()
    assert time.monotonic() - began < 1.5
    assert result.status == "cancelled"
    assert_all_final(result)
    assert {result.node(f"S{i}").status for i in range(3)} == {"cancelled"}
    assert {result.node(f"After{i}").status for i in range(3)} == {"skipped"}
    assert sorted(probe.cancelled) == ["S0", "S1", "S2"]
    assert result.events[-1].type == "run_finished" and result.events[-1].data["status"] == "cancelled"
    handle.cancel()  # after the end: nothing happens


async def test_cancel_sets_the_handlers_cancelled_event_and_skips_queued_nodes(probe):
    g = Graph().add("Start", "trigger.manual")
    for i in range(4):
        g.add(f"S{i}", "test.sleep", values={"delay_ms": 10_000}).wire("Start", f"S{i}")
    handle = start_run(g.flow(), catalog=CATALOG, registry=make_registry(probe), max_concurrency=2)
    while probe.in_flight < 2:
        await asyncio.sleep(0.01)
    handle.cancel()
    result = await handle.result()
    assert sorted(r.status for r in result.nodes.values() if r.node_name != "Start") == ["cancelled", "cancelled", "skipped", "skipped"]
    assert all(r.reason == "run_cancelled" for r in result.nodes.values() if r.node_name != "Start")


async def test_cancelling_the_awaiting_task_cancels_the_run(probe):
    seen = []
    g = Graph().add("Start", "trigger.manual").add("S", "test.sleep", values={"delay_ms": 10_000}).chain("Start", "S")
    task = asyncio.create_task(run_flow(g.flow(), catalog=CATALOG, registry=make_registry(probe), on_event=seen.append))
    while probe.in_flight < 1:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert probe.cancelled == ["S"]
    assert seen[-1].type == "run_finished" and seen[-1].data["status"] == "cancelled"
    assert [e.type for e in seen if e.node_name == "S"][-1] == "node_cancelled"


# --- partial runs --------------------------------------------------------------------------------


async def test_start_at_runs_downstream_with_pinned_upstream_outputs(probe):
    g = Graph().add("Start", "trigger.manual").add("Fetch", "test.fail").add("Use", values={"value": "{{ nodes.Fetch.output.data }}!"})
    g.add("Last").chain("Start", "Fetch", "Use", "Last")
    result = await run(g, probe, start_at="Use", pinned_outputs={"Fetch": {"data": "cached"}, "Start": {"t": 1}})
    assert result.status == "succeeded"
    assert "Fetch" not in probe.attempts
    assert result.node("Fetch").status == "skipped" and result.node("Fetch").reason == "pinned"
    assert result.output("Use") == "cached!" and result.output("Last") == "cached!"
    assert result.trigger == {"t": 1}


async def test_only_runs_a_single_node(probe):
    g = Graph().add("Start", "trigger.manual").add("A", values={"value": "{{ input.v }}"}).add("B").chain("Start", "A", "B")
    result = await run(g, probe, only="A", pinned_outputs={"Start": {"v": 7}})
    assert result.output("A") == 7
    assert result.node("B").status == "skipped" and result.node("B").reason == "not_in_run"
    unpinned = await run(g, probe, only="B")
    assert unpinned.node("B").status == "succeeded" and unpinned.output("B") is None


async def test_bad_partial_run_arguments_raise(probe):
    g = Graph().add("Start", "trigger.manual")
    with pytest.raises(ValueError, match="no node 'Nope'"):
        await run(g, probe, start_at="Nope")
    with pytest.raises(ValueError, match="not both"):
        await run(g, probe, start_at="Start", only="Start")


async def test_handler_ignoring_cancellation_is_given_up_on_after_the_grace(probe, monkeypatch):
    from studio.engine import executor

    monkeypatch.setattr(executor, "CANCEL_GRACE_S", 0.2)
    registry = make_registry(probe)
    finished = asyncio.Event()

    @registry.register("test.echo")
    async def stubborn(ctx):
        probe.in_flight += 1
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.4)  # clean-up that takes longer than the grace
        finished.set()
        return "late"

    g = Graph().add("Start", "trigger.manual").add("A").chain("Start", "A")
    handle = start_run(g.flow(), catalog=CATALOG, registry=registry)
    while probe.in_flight < 1:
        await asyncio.sleep(0.01)
    began = time.monotonic()
    handle.cancel()
    result = await handle.result()
    assert time.monotonic() - began < 0.39
    assert result.node("A").status == "cancelled" and result.node("A").reason == "did_not_stop"
    await finished.wait()
    await asyncio.sleep(0)
    assert result.node("A").status == "cancelled"  # the late value does not overwrite it
    assert result.node("A").output is None


async def test_routing_to_a_port_the_node_lacks_fails_it(probe):
    g = Graph().add("Start", "trigger.manual").add("If", "test.branch", values={"port": "maybe"}).add("Yes")
    g.chain("Start", "If").wire("If", "Yes", "yes")
    result = await run(g, probe)
    assert result.node("If").status == "failed"
    assert "chose output 'maybe'" in result.node("If").error["message"] and "yes, no, error" in result.node("If").error["message"]


async def test_timeouts_are_retried(probe):
    g = Graph().add("Start", "trigger.manual").add("Slow", "test.sleep", values={"delay_ms": 2000, "timeout_ms": 20}, retry=(2, 0))
    g.chain("Start", "Slow")
    result = await run(g, probe)
    assert result.node("Slow").attempts == 2 and probe.cancelled == ["Slow", "Slow"]
    assert result.node("Slow").error["details"] == {"timeout_ms": 20}


async def test_bad_input_fails_without_retry_and_respects_on_error(probe):
    g = Graph().add("Start", "trigger.manual").add("Typed", values={"flag": "perhaps"}, on_error="continue", retry=(3, 0)).add("After")
    g.chain("Start", "Typed", "After")
    result = await run(g, probe)
    assert result.node("Typed").attempts == 0
    assert result.output("After")["error"]["message"] == "Typed: 'Flag' expects true or false, got 'perhaps'"
    assert result.status == "succeeded"


async def test_cancel_from_another_thread(probe):
    import threading

    g = Graph().add("Start", "trigger.manual").add("S", "test.sleep", values={"delay_ms": 10_000}).chain("Start", "S")
    handle = start_run(g.flow(), catalog=CATALOG, registry=make_registry(probe))
    while probe.in_flight < 1:
        await asyncio.sleep(0.01)
    thread = threading.Thread(target=handle.cancel)
    thread.start()
    thread.join()
    result = await asyncio.wait_for(handle.result(), 2)
    assert result.status == "cancelled" and result.node("S").status == "cancelled"
