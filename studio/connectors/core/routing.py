"""If, Switch and Filter: each item of the input is sent to the output(s) its conditions pick.

A list input is routed item by item (each output carries the list of its items and only outputs
that got items are active); any other input is one item and travels as itself."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext, Routed, Routes
from studio.engine.handlers import runs_inline

from ._common import InputError, handles, items_of, rendered
from .conditions import matches


def _options(ctx: NodeContext) -> dict[str, bool]:
    return {"ignore_case": bool(ctx.inputs.get("ignore_case")), "loose": bool(ctx.inputs.get("loose_types"))}


def _holds(ctx: NodeContext, item: Any, index: int, was_list: bool) -> bool:
    where = f"{ctx.node.name}" + (f", item {index + 1}" if was_list else "")
    return matches(rendered(ctx, "conditions", item), ctx.inputs.get("combinator") or "and", where=where,
                   **_options(ctx))


def _route(buckets: dict[str, list[Any]], was_list: bool, order: list[str]) -> Any:
    """Lists on every port that got items; a single item on its one port."""
    if not was_list:
        taken = [port for port in order if buckets.get(port)]
        if len(taken) == 1:
            return Routed(taken[0], buckets[taken[0]][0])
        return Routes({port: buckets[port][0] for port in taken})
    return Routes({port: buckets[port] for port in order if buckets.get(port)})


@handles("core.if")
@runs_inline
async def if_node(ctx: NodeContext) -> Any:
    items, was_list = items_of(ctx.upstream)
    buckets: dict[str, list[Any]] = {"true": [], "false": []}
    for index, item in enumerate(items):
        buckets["true" if _holds(ctx, item, index, was_list) else "false"].append(item)
    return _route(buckets, was_list, ["true", "false"])


@handles("core.filter")
@runs_inline
async def filter_node(ctx: NodeContext) -> Any:
    items, was_list = items_of(ctx.upstream)
    kept, discarded = [], []
    for index, item in enumerate(items):
        (kept if _holds(ctx, item, index, was_list) else discarded).append(item)
    if was_list:
        return Routes({"output": kept, "discarded": discarded})  # an empty list is still an answer
    return _route({"output": kept, "discarded": discarded}, False, ["output", "discarded"])


@handles("core.switch")
@runs_inline
async def switch_node(ctx: NodeContext) -> Any:
    items, was_list = items_of(ctx.upstream)
    fallback = ctx.inputs.get("fallback") or "none"
    all_matching = bool(ctx.inputs.get("all_matching"))
    buckets: dict[str, list[Any]] = {}
    order: list[str] = []
    for index, item in enumerate(items):
        rules = rendered(ctx, "rules", item)
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise InputError(ctx, "rules", "must be a list of {key, conditions, combinator} objects")
        keys = [str(r.get("key") or f"output_{i}") for i, r in enumerate(rules)]
        order = keys + ["fallback"]
        hit = False
        for rule_index, (key, rule) in enumerate(zip(keys, rules)):
            where = f"{ctx.node.name}, rule {key}" + (f", item {index + 1}" if was_list else "")
            if matches(rule.get("conditions", []), rule.get("combinator") or "and", where=where, **_options(ctx)):
                buckets.setdefault(key, []).append(item)
                hit = True
                if not all_matching:
                    break
        if not hit:
            if fallback == "extra":
                buckets.setdefault("fallback", []).append(item)
            elif fallback == "first" and keys:
                buckets.setdefault(keys[0], []).append(item)
    return _route(buckets, was_list, order or list(buckets))
