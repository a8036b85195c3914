"""Each core node in a real flow: the real catalog, the installed handlers, the real executor."""

from __future__ import annotations

import asyncio
import time

from core_testkit import run, start

from studio.engine.handlers import default_registry

ORDERS = [
    {"id": 1, "status": "paid", "total": 30, "customer": "ann"},
    {"id": 2, "status": "open", "total": 5, "customer": "bob"},
    {"id": 3, "status": "paid", "total": 12, "customer": "ann"},
]


def cond(left, operator, right=None):
    return {"left": left, "operator": operator, "right": right}


def test_if_routes_a_single_item_to_one_branch_and_skips_the_other():
    g = (start().add("If", "core.if", values={"conditions": [cond("{{ input.total }}", "number.gt", 10)]})
         .add("Big", "core.noop").add("Small", "core.noop")
         .wire("Start", "If").wire("If", "Big", "true").wire("If", "Small", "false"))
    result = run(g, {"total": 30})
    assert result.status == "succeeded"
    assert result.output("Big") == {"total": 30}
    assert result.node("Small").status == "skipped" and result.node("Small").reason == "branch_not_taken"
    other = run(g, {"total": 3})
    assert other.node("Big").status == "skipped" and other.output("Small") == {"total": 3}


def test_if_splits_a_list_item_by_item_with_or_and_ignore_case():
    g = (start().add("If", "core.if", values={
            "conditions": [cond("{{ input.status }}", "string.equals", "PAID"),
                           cond("{{ input.customer }}", "string.starts_with", "B")],
            "combinator": "or", "ignore_case": True})
         .add("Yes", "core.noop").add("No", "core.noop")
         .wire("Start", "If").wire("If", "Yes", "true").wire("If", "No", "false"))
    result = run(g, ORDERS)
    assert [o["id"] for o in result.output("Yes")] == [1, 2, 3]
    assert result.node("No").status == "skipped"  # no item went there
    g.nodes[1].values["ignore_case"] = False
    strict = run(g, ORDERS)
    assert [o["id"] for o in strict.output("No")] == [1, 2, 3]  # "PAID" != "paid", "bob" does not start with "B"
    assert strict.node("Yes").status == "skipped"


def test_if_with_wrong_type_fails_naming_the_condition_unless_types_are_converted():
    base = {"conditions": [cond("{{ input.total }}", "number.gte", 10)]}
    g = start().add("If", "core.if", values=base).wire("Start", "If")
    failed = run(g, {"total": "12"})
    assert failed.status == "failed"
    assert "condition 1" in failed.error["message"] and "not a number" in failed.error["message"]
    g2 = start().add("If", "core.if", values={**base, "loose_types": True}).add("T", "core.noop")
    g2.wire("Start", "If").wire("If", "T", "true")
    assert run(g2, {"total": "12"}).output("T") == {"total": "12"}


def test_switch_routes_items_by_rules_with_a_fallback_output():
    rules = [{"key": "paid", "conditions": [cond("{{ input.status }}", "string.equals", "paid")]},
             {"key": "big", "conditions": [cond("{{ input.total }}", "number.gt", 100)]}]
    g = (start().add("Switch", "core.switch", values={"rules": rules, "fallback": "extra"})
         .add("Paid", "core.noop").add("Big", "core.noop").add("Other", "core.noop")
         .wire("Start", "Switch").wire("Switch", "Paid", "paid").wire("Switch", "Big", "big")
         .wire("Switch", "Other", "fallback"))
    result = run(g, ORDERS)
    assert [o["id"] for o in result.output("Paid")] == [1, 3]
    assert [o["id"] for o in result.output("Other")] == [2]
    assert result.node("Big").status == "skipped"


def test_filter_keeps_matching_items_and_offers_the_rest():
    g = (start().add("Filter", "core.filter", values={
            "conditions": [cond("{{ input.customer }}", "string.equals", "ann"),
                           cond("{{ input.total }}", "number.lt", 20)]})
         .add("Kept", "core.noop").add("Dropped", "core.noop")
         .wire("Start", "Filter").wire("Filter", "Kept").wire("Filter", "Dropped", "discarded"))
    result = run(g, ORDERS)
    assert result.output("Kept") == [ORDERS[2]]
    assert [o["id"] for o in result.output("Dropped")] == [1, 2]


def test_set_assigns_typed_fields_per_item_and_keeps_or_drops_the_rest():
    g = (start().add("Set", "core.set", values={
            "assignments": [{"name": "label", "type": "string", "value": "#{{ input.id }} for {{ input.customer }}"},
                            {"name": "amount.cents", "type": "number", "value": "{{ input.total }}00"},
                            {"name": "vip", "type": "boolean", "value": "true"}],
            "include": "selected", "include_fields": ["id"]})
         .wire("Start", "Set"))
    result = run(g, ORDERS[:2])
    assert result.output("Set") == [
        {"id": 1, "label": "#1 for ann", "amount": {"cents": 3000}, "vip": True},
        {"id": 2, "label": "#2 for bob", "amount": {"cents": 500}, "vip": True},
    ]
    kept = run(start().add("Set", "core.set", values={"assignments": [{"name": "x", "type": "number", "value": 1}]})
               .wire("Start", "Set"), {"a": 1})
    assert kept.output("Set") == {"a": 1, "x": 1}
    bad = run(start().add("Set", "core.set", values={
        "assignments": [{"name": "n", "type": "number", "value": "{{ input.customer }}"}]}).wire("Start", "Set"),
        ORDERS[0])
    assert bad.status == "failed" and "'n'" in bad.error["message"] and "not a number" in bad.error["message"]


def test_set_json_mode_and_drop_other_fields():
    g = start().add("Set", "core.set", values={"mode": "json", "include": "none",
                                                "json_output": {"who": "{{ input.customer }}", "n": 1}})
    result = run(g.wire("Start", "Set"), ORDERS[0])
    assert result.output("Set") == {"who": "ann", "n": 1}


def _two_branches(mode: str, first, second, **values):
    g = (start().add("A", "core.set", values={"mode": "json", "include": "none", "json_output": first})
         .add("B", "core.set", values={"mode": "json", "include": "none", "json_output": second})
         .add("Merge", "core.merge", values={"mode": mode, **values})
         .wire("Start", "A").wire("Start", "B").wire("A", "Merge", "output", "input_1")
         .wire("B", "Merge", "output", "input_2"))
    return g


def test_merge_append_position_and_key():
    appended = run(_two_branches("append", {"a": 1}, {"b": 2}), {})
    assert appended.output("Merge") == [{"a": 1}, {"b": 2}]
    g = (start().add("Merge", "core.merge", values={"mode": "by_key", "key_1": "id", "key_2": "order_id",
                                                      "join": "enrich_1"})
         .add("Orders", "core.noop", values={}).add("Notes", "core.limit", values={"max_items": 5})
         .wire("Start", "Orders").wire("Start", "Notes")
         .wire("Orders", "Merge", "output", "input_1").wire("Notes", "Merge", "output", "input_2"))
    # Both branches carry the trigger's list; key id==order_id matches nothing but enrich keeps input 1.
    result = run(g, ORDERS)
    assert result.output("Merge") == ORDERS
    by_key = (start().add("L", "core.noop").add("R", "core.set", values={
                  "assignments": [{"name": "order_id", "type": "number", "value": "{{ input.id }}"},
                                  {"name": "note", "type": "string", "value": "n{{ input.id }}"}],
                  "include": "none"})
              .add("Merge", "core.merge", values={"mode": "by_key", "key_1": "id", "key_2": "order_id"})
              .wire("Start", "L").wire("Start", "R").wire("L", "Merge", "output", "input_1")
              .wire("R", "Merge", "output", "input_2"))
    merged = run(by_key, ORDERS[:2]).output("Merge")
    assert merged == [{**ORDERS[0], "order_id": 1, "note": "n1"}, {**ORDERS[1], "order_id": 2, "note": "n2"}]
    paired = run(_two_branches("by_position", {"a": 1}, {"b": 2}), {})
    assert paired.output("Merge") == [{"a": 1, "b": 2}]


def test_merge_waits_for_both_branches_and_passes_nothing_when_one_was_not_taken():
    g = (start().add("Slow", "core.wait", values={"amount": 0.2})
         .add("Fast", "core.noop")
         .add("Merge", "core.merge", values={"mode": "wait", "output_branch": "both"})
         .add("After", "core.noop")
         .wire("Start", "Slow").wire("Start", "Fast").wire("Slow", "Merge", "output", "input_1")
         .wire("Fast", "Merge", "output", "input_2").wire("Merge", "After"))
    result = run(g, {"x": 1})
    assert result.output("After") == [{"x": 1}, {"x": 1}]
    assert result.node("Merge").started_at >= result.node("Slow").finished_at
    g2 = (start().add("If", "core.if", values={"conditions": [cond("{{ input.x }}", "number.equals", 2)]})
          .add("Merge", "core.merge", values={"mode": "wait"}).add("After", "core.noop")
          .wire("Start", "If").wire("If", "Merge", "true", "input_1").wire("Start", "Merge", "output", "input_2")
          .wire("Merge", "After"))
    untaken = run(g2, {"x": 1})
    assert untaken.node("Merge").status == "succeeded"
    assert untaken.node("After").status == "skipped"


def test_split_out_aggregate_sort_limit_and_remove_duplicates():
    g = (start().add("Split", "core.split_out", values={"field_to_split": "orders", "include": "selected",
                                                          "fields_to_include": ["shop"]})
         .add("Dedup", "core.remove_duplicates", values={"compare": "selected_fields", "fields": ["customer"]})
         .add("Sort", "core.sort", values={"fields": [{"field": "total", "order": "descending"}]})
         .add("Limit", "core.limit", values={"max_items": 1, "keep": "last"})
         .add("Agg", "core.aggregate", values={"fields": ["customer", {"field": "total", "rename": "totals"}]})
         .chain("Start", "Split", "Dedup", "Sort", "Agg").wire("Sort", "Limit"))
    result = run(g, {"shop": "s1", "orders": ORDERS})
    assert result.output("Split")[0] == {"shop": "s1", **ORDERS[0]}
    assert [o["id"] for o in result.output("Dedup")] == [1, 2]
    assert [o["id"] for o in result.output("Sort")] == [1, 2]
    assert [o["id"] for o in result.output("Limit")] == [2]
    assert result.output("Agg") == {"customer": ["ann", "bob"], "totals": [30, 5]}
    missing = run(start().add("Split", "core.split_out", values={"field_to_split": "nope"}).wire("Start", "Split"),
                  {"orders": []})
    assert missing.status == "failed" and "'nope' is not in the input" in missing.error["message"]


def test_loop_runs_the_body_per_item_with_a_concurrency_limit_and_gathers_results():
    registry = default_registry().copy()
    seen = {"now": 0, "most": 0, "items": []}

    async def probe(ctx):  # core.noop, counting how many items are in the body at once
        seen["now"] += 1
        seen["most"] = max(seen["most"], seen["now"])
        seen["items"].append(ctx.upstream["id"])
        await asyncio.sleep(0.05)
        seen["now"] -= 1
        return ctx.upstream

    registry.register("core.noop", probe)
    g = (start().add("Loop", "core.loop", values={"concurrency": 2, "items": "{{ input.items }}"})
         .add("Probe", "core.noop")
         .add("Shape", "core.set", values={"include": "none", "assignments": [
             {"name": "id", "type": "number", "value": "{{ input.id }}"},
             {"name": "shop", "type": "string", "value": "{{ trigger.shop }}"}]})
         .add("After", "core.set", values={"assignments": []})
         .wire("Start", "Loop", "output").wire("Loop", "Probe", "loop").wire("Probe", "Shape")
         .wire("Loop", "After", "done"))
    items = [{"id": i} for i in range(5)]
    result = run(g, {"shop": "s1", "items": items}, registry=registry)
    assert result.status == "succeeded", result.error
    assert result.output("After") == [{"id": i, "shop": "s1"} for i in range(5)]  # in item order
    assert result.output("Shape") == result.output("After")  # body nodes keep their outputs per item
    # attempts: the most tries one item needed (no retries here); the runs per item are counted apart
    assert result.node("Probe").attempts == 1 and sorted(seen["items"]) == [0, 1, 2, 3, 4]
    [finished] = [e for e in result.events if e.node_name == "Probe" and e.type == "node_succeeded"]
    assert finished.data["loop_runs"] == 5 and finished.data["attempts"] == 1
    assert seen["most"] == 2  # the limit holds, and items did run side by side
    probe_events = [e.type for e in result.events if e.node_name == "Probe"]
    assert probe_events == ["node_started", "node_succeeded"]  # the body shows as running, then done
    progress = [e.data["loop"] for e in result.events if e.node_name == "Loop" and e.type == "progress"]
    assert progress[-1] == {"done": 5, "total": 5}


def test_a_loop_body_reports_its_progress_and_retries_to_the_outer_run():
    """What a body node says while it runs (a client retry, progress) reaches the run's events, so
    `studio run` prints it and the node's steps keep it; an executor retry counts as attempts."""
    registry = default_registry().copy()
    tries: dict[int, int] = {}

    async def flaky(ctx):  # core.noop: says it retries, and fails its first try for item 1
        item = ctx.upstream["id"]
        ctx.emit("progress", message=f"item {item}: rate limited (429); retrying in 0.0 s (try 2 of 5)",
                 retry={"reason": "rate limited (429)", "try": 2, "of": 5, "wait_s": 0.0})
        tries[item] = tries.get(item, 0) + 1
        if item == 1 and tries[item] == 1:
            raise RuntimeError("flaky once")
        return ctx.upstream

    registry.register("core.noop", flaky)
    g = (start().add("Loop", "core.loop", values={"items": "{{ input.items }}"})
         .add("Body", "core.noop", retry=(2, 0))
         .wire("Start", "Loop", "output").wire("Loop", "Body", "loop"))
    result = run(g, {"items": [{"id": 0}, {"id": 1}, {"id": 2}]}, registry=registry)
    assert result.status == "succeeded", result.error
    said = [e.data["message"] for e in result.events if e.node_name == "Body" and e.type == "progress"]
    assert sorted(said) == sorted(f"item {i}: rate limited (429); retrying in 0.0 s (try 2 of 5)"
                                  for i in (0, 1, 1, 2))
    assert result.node("Body").attempts == 2  # item 1 needed a second try
    assert [e.type for e in result.events if e.node_name == "Body" and e.type.startswith("node_")] == [
        "node_started", "node_succeeded"]


def test_loop_in_batches_gives_the_body_lists():
    g = (start().add("Loop", "core.loop", values={"batch_size": 2}).add("First", "core.limit")
         .add("Done", "core.noop").wire("Start", "Loop").wire("Loop", "First", "loop").wire("Loop", "Done", "done"))
    assert run(g, [1, 2, 3, 4, 5]).output("Done") == [[1], [3], [5]]


def test_loop_item_failure_stops_or_continues():
    body = {"conditions": [cond("{{ input }}", "number.lt", 2)]}
    g = (start().add("Loop", "core.loop").add("Check", "core.if", values=body)
         .add("Fail", "core.stop_and_error", values={"message": "too big: {{ input }}"})
         .add("Done", "core.noop")
         .wire("Start", "Loop").wire("Loop", "Check", "loop").wire("Check", "Fail", "false")
         .wire("Loop", "Done", "done"))
    stopped = run(g, [1, 2, 3])
    assert stopped.status == "failed"
    assert "item 2 failed" in stopped.error["message"] and "too big: 2" in stopped.error["message"]
    g.nodes[1].values["on_item_error"] = "continue"
    went_on = run(g, [1, 2])
    assert went_on.status == "succeeded"
    out = went_on.output("Done")
    assert out[0] == 1 and out[1]["error"]["message"].endswith("too big: 2")


def test_wait_noop_and_stop_and_error():
    g = start().add("Wait", "core.wait", values={"amount": 0.1}).add("Nop", "core.noop").chain("Start", "Wait", "Nop")
    began = time.monotonic()
    result = run(g, {"k": "v"})
    assert time.monotonic() - began >= 0.1
    assert result.output("Nop") == {"k": "v"}
    err = run(start().add("Stop", "core.stop_and_error", values={
        "error_type": "object", "error_object": {"message": "quota of {{ input.user }} used", "code": 7}})
        .wire("Start", "Stop"), {"user": "ann"})
    assert err.status == "failed"
    assert err.error["message"] == "Stop: quota of ann used"
    assert err.error["details"]["code"] == 7
    assert err.node("Stop").attempts == 1


def test_a_loop_with_nothing_wired_to_its_loop_port_passes_its_items_to_done():
    g = start().add("Loop", "core.loop").add("Done", "core.noop").wire("Start", "Loop").wire("Loop", "Done", "done")
    assert run(g, [1, 2]).output("Done") == [1, 2]


def test_a_flow_of_core_nodes_validates_with_their_ports():
    from studio.catalog.catalog import load_catalog
    from studio.flow.validate import validate_flow

    rules = [{"key": "paid", "conditions": [cond("{{ input.s }}", "string.equals", "paid")]}]
    g = (start().add("Switch", "core.switch", values={"rules": rules, "fallback": "extra"})
         .add("Loop", "core.loop").add("Merge", "core.merge").add("Body", "core.noop")
         .wire("Start", "Switch").wire("Switch", "Loop", "paid").wire("Loop", "Body", "loop")
         .wire("Loop", "Merge", "done", "input_1").wire("Switch", "Merge", "fallback", "input_2"))
    assert validate_flow(g.flow(), load_catalog()) == []
    g.wire("Switch", "Body", "unpaid")
    problems = validate_flow(g.flow(), load_catalog())
    assert any("unpaid" in p.message for p in problems)


def test_cancelling_a_run_stops_its_loop_bodies_and_every_node_ends_final():
    from studio.engine.executor import start_run

    g = (start().add("Loop", "core.loop", values={"concurrency": 3}).add("Slow", "core.wait", values={"amount": 30})
         .add("Done", "core.noop").wire("Start", "Loop").wire("Loop", "Slow", "loop").wire("Loop", "Done", "done"))

    async def go():
        handle = start_run(g.flow(), trigger_payload=[1, 2, 3, 4])
        await asyncio.sleep(0.3)
        handle.cancel()
        return await asyncio.wait_for(handle.result(), 5)  # the 30 s waits do not hold it up

    result = asyncio.run(go())
    assert result.status == "cancelled"
    assert all(r.final for r in result.nodes.values())
    assert result.node("Loop").status == "cancelled" and result.node("Done").status == "skipped"
    assert (result.node("Slow").status, result.node("Slow").reason) == ("skipped", "run_cancelled")
