"""Merge: the values of two branches (input 1, input 2) become one, once both branches have
finished (the executor starts a node only when every wire into it is settled)."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext, Routes
from studio.engine.handlers import runs_inline

from ._common import InputError, get_path, handles, items_of

_ABSENT = object()


def _merged(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    return [a, b]


@handles("core.merge")
@runs_inline
async def merge(ctx: NodeContext) -> Any:
    first = ctx.inputs.get("input_1", None)
    second = ctx.inputs.get("input_2", None)
    # A branch that was not taken leaves its input unset; the main `in` port may carry both.
    if first is None and second is None and isinstance(ctx.upstream, list) and len(ctx.upstream) == 2:
        first, second = ctx.upstream
    mode = ctx.inputs.get("mode") or "append"
    if mode == "wait":
        if first is None or second is None:
            missing = "Input 1" if first is None else "Input 2"
            ctx.emit("progress", message=f"{missing} did not arrive; nothing passes on")
            return Routes({})
        branch = ctx.inputs.get("output_branch") or "input_1"
        return {"input_1": first, "input_2": second, "both": [first, second], "empty": {}}[branch]
    one, _ = items_of(first)
    two, _ = items_of(second)
    if mode == "append":
        return one + two
    if mode == "by_position":
        size = max(len(one), len(two)) if ctx.inputs.get("include_unpaired") else min(len(one), len(two))
        out = []
        for i in range(size):
            a = one[i] if i < len(one) else _ABSENT
            b = two[i] if i < len(two) else _ABSENT
            out.append(a if b is _ABSENT else b if a is _ABSENT else _merged(a, b))
        return out
    if mode == "by_key":
        key_1 = (ctx.inputs.get("key_1") or "").strip()
        key_2 = (ctx.inputs.get("key_2") or "").strip() or key_1
        if not key_1:
            raise InputError(ctx, "key_1", "is required to combine by matching fields")
        join = ctx.inputs.get("join") or "keep_matches"
        index: dict[str, list[Any]] = {}
        for item in two:
            index.setdefault(repr(get_path(item, key_2)), []).append(item)
        matched_two: set[int] = set()
        out = []
        for item in one:
            partners = index.get(repr(get_path(item, key_1)), []) if get_path(item, key_1) is not None else []
            matched_two.update(id(p) for p in partners)
            if join in ("keep_matches", "keep_everything", "enrich_1"):
                if partners:
                    out.extend(_merged(item, p) for p in partners)
                elif join != "keep_matches":
                    out.append(item)
            elif join == "keep_non_matches" and not partners:
                out.append(item)
            elif join == "enrich_2":
                pass
        if join in ("keep_non_matches", "keep_everything"):
            out.extend(item for item in two if id(item) not in matched_two)
        if join == "enrich_2":
            lookup: dict[str, list[Any]] = {}
            for item in one:
                lookup.setdefault(repr(get_path(item, key_1)), []).append(item)
            for item in two:
                partners = lookup.get(repr(get_path(item, key_2)), []) if get_path(item, key_2) is not None else []
                out.extend([_merged(p, item) for p in partners] or [item])
        return out
    raise InputError(ctx, "mode", f"must be append, by_position, by_key or wait, not {mode!r}")
