"""Reshaping items: Edit Fields (Set), Split Out, Aggregate, Sort, Limit and Remove Duplicates."""

from __future__ import annotations

import json
import random
from typing import Any

from studio.engine.context import NodeContext
from studio.engine.expressions import to_text
from studio.engine.handlers import runs_inline

from ._common import (
    InputError, as_item_dict, delete_path, get_path, handles, has_path, items_of, rendered, set_path,
)

SET_TYPES = ("string", "number", "boolean", "array", "object")


def _typed(ctx: NodeContext, name: str, kind: str, value: Any) -> Any:
    """`value` as `kind` (a Set assignment's type), or an error naming the field."""
    if value is None or kind in ("", "any", None):
        return value
    try:
        if kind == "string":
            return value if isinstance(value, str) else to_text(value)
        if kind == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            number = float(str(value).strip())
            return int(number) if number.is_integer() else number
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no", ""):
                return False
            raise ValueError(text)
        if kind in ("array", "object"):
            parsed = json.loads(value) if isinstance(value, str) else value
            if isinstance(parsed, list if kind == "array" else dict):
                return parsed
            raise ValueError(value)
    except (ValueError, TypeError):
        if ctx.inputs.get("ignore_conversion_errors"):
            return value
        raise InputError(ctx, "assignments", f"field {name!r}: {to_text(value)[:80]!r} is not a {kind} "
                                             "(or turn on 'Ignore Type Conversion Errors')") from None
    raise InputError(ctx, "assignments", f"field {name!r}: unknown type {kind!r} (one of {', '.join(SET_TYPES)})")


def _kept_fields(ctx: NodeContext, item: Any) -> dict[str, Any]:
    include = ctx.inputs.get("include") or "all"
    source = as_item_dict(item)
    names = ctx.inputs.get("include_fields") or []
    dots = ctx.inputs.get("dot_notation", True) is not False
    if include == "none":
        return {}
    if include == "selected":
        kept: dict[str, Any] = {}
        for name in names:
            if has_path(source, name, dots=dots):
                set_path(kept, name, get_path(source, name, dots=dots), dots=dots)
        return kept
    kept = json.loads(json.dumps(source, default=str))  # a copy: the input stays as it was
    if include == "except":
        for name in names:
            delete_path(kept, name, dots=dots)
    return kept


@handles("core.set")
@runs_inline
async def set_fields(ctx: NodeContext) -> Any:
    items, was_list = items_of(ctx.upstream)
    if ctx.upstream is None:  # nothing wired in: set the fields on an empty item
        items, was_list = [{}], False
    dots = ctx.inputs.get("dot_notation", True) is not False
    out = []
    for item in items:
        result = _kept_fields(ctx, item)
        if (ctx.inputs.get("mode") or "manual") == "json":
            data = rendered(ctx, "json_output", item)
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    raise InputError(ctx, "json_output", "must be a JSON object") from None
            if not isinstance(data, dict):
                raise InputError(ctx, "json_output", "must be a JSON object")
            result.update(data)
        else:
            assignments = rendered(ctx, "assignments", item) or []
            if isinstance(assignments, dict) and "assignments" in assignments:  # n8n's {assignments: [...]}
                assignments = assignments["assignments"]
            if not isinstance(assignments, list):
                raise InputError(ctx, "assignments", "must be a list of {name, type, value} objects")
            for index, assignment in enumerate(assignments):
                if not isinstance(assignment, dict) or not str(assignment.get("name") or "").strip():
                    raise InputError(ctx, "assignments", f"entry {index + 1} needs a 'name'")
                name = str(assignment["name"]).strip()
                set_path(result, name, _typed(ctx, name, str(assignment.get("type") or "string"),
                                              assignment.get("value")), dots=dots)
        out.append(result)
    return out if was_list else out[0]


@handles("core.split_out")
@runs_inline
async def split_out(ctx: NodeContext) -> Any:
    fields = [f.strip() for f in str(ctx.inputs.get("field_to_split") or "").split(",") if f.strip()]
    if not fields:
        raise InputError(ctx, "field_to_split", "is required: the name of the list field to split out")
    include = ctx.inputs.get("include") or "none"
    destination = (ctx.inputs.get("destination_field") or "").strip()
    items, _ = items_of(ctx.upstream)
    out: list[Any] = []
    for item in items:
        source = as_item_dict(item)
        lists = []
        for name in fields:
            value = get_path(source, name)
            if value is None:
                raise InputError(ctx, "field_to_split", f"{name!r} is not in the input (fields: "
                                                        f"{', '.join(map(str, source)) or 'none'})")
            lists.append(value if isinstance(value, list) else [value])
        for row in range(max(len(v) for v in lists)):
            if include == "all":
                new = {k: v for k, v in source.items() if k not in fields}
            elif include == "selected":
                new = {}
                for name in ctx.inputs.get("fields_to_include") or []:
                    if has_path(source, name):
                        set_path(new, name, get_path(source, name))
            else:
                new = {}
            for name, values in zip(fields, lists):
                element = values[row] if row < len(values) else None
                if destination or len(fields) > 1 or not isinstance(element, dict):
                    new[destination if destination and len(fields) == 1 else name.split(".")[-1]] = element
                else:
                    new.update(element)
            out.append(new)
    return out


@handles("core.aggregate")
@runs_inline
async def aggregate(ctx: NodeContext) -> Any:
    items, _ = items_of(ctx.upstream)
    if (ctx.inputs.get("mode") or "fields") == "all":
        return {(ctx.inputs.get("destination_field") or "data"): items}
    specs = ctx.inputs.get("fields") or []
    if isinstance(specs, str):
        specs = [s.strip() for s in specs.split(",") if s.strip()]
    if not isinstance(specs, list) or not specs:
        raise InputError(ctx, "fields", "needs at least one field name (or choose 'All item data')")
    out: dict[str, Any] = {}
    for spec in specs:
        name = spec.get("field") if isinstance(spec, dict) else spec
        if not name:
            raise InputError(ctx, "fields", "entries need a 'field'")
        rename = (spec.get("rename") if isinstance(spec, dict) else None) or str(name).split(".")[-1]
        values: list[Any] = []
        for item in items:
            value = get_path(item, str(name))
            if value is None and not ctx.inputs.get("keep_missing"):
                continue
            if ctx.inputs.get("merge_lists") and isinstance(value, list):
                values.extend(value)
            else:
                values.append(value)
        out[rename] = values
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    """None last; numbers, then text, then anything else as JSON text."""
    if value is None:
        return (3, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value.lower())
    return (2, json.dumps(value, sort_keys=True, default=str))


@handles("core.sort")
@runs_inline
async def sort_items(ctx: NodeContext) -> Any:
    items, _ = items_of(ctx.upstream)
    if (ctx.inputs.get("type") or "simple") == "random":
        shuffled = list(items)
        random.shuffle(shuffled)
        return shuffled
    specs = ctx.inputs.get("fields") or []
    if not isinstance(specs, list) or not specs:
        raise InputError(ctx, "fields", "needs at least one {field, order} to sort by")
    ordered = list(items)
    for spec in reversed(specs):  # stable sorts, last key first
        name = spec.get("field") if isinstance(spec, dict) else spec
        if not name:
            raise InputError(ctx, "fields", "entries need a 'field'")
        order = (spec.get("order") if isinstance(spec, dict) else None) or "ascending"
        if order not in ("ascending", "descending"):
            raise InputError(ctx, "fields", f"order of {name!r} must be ascending or descending, not {order!r}")
        ordered.sort(key=lambda item: _sort_key(get_path(item, str(name))), reverse=order == "descending")
    return ordered


@handles("core.limit")
@runs_inline
async def limit(ctx: NodeContext) -> Any:
    items, _ = items_of(ctx.upstream)
    count = int(ctx.inputs.get("max_items") if ctx.inputs.get("max_items") is not None else 1)
    if count < 0:
        raise InputError(ctx, "max_items", "must be 0 or more")
    if count == 0:
        return []
    return items[-count:] if ctx.inputs.get("keep") == "last" else items[:count]


@handles("core.remove_duplicates")
@runs_inline
async def remove_duplicates(ctx: NodeContext) -> Any:
    items, _ = items_of(ctx.upstream)
    compare = ctx.inputs.get("compare") or "all_fields"
    fields = ctx.inputs.get("fields") or []
    if compare != "all_fields" and not fields:
        raise InputError(ctx, "fields", "needs the fields to compare")
    seen: set[str] = set()
    out = []
    for item in items:
        if compare == "selected_fields":
            key_value: Any = [get_path(item, f) for f in fields]
        elif compare == "all_except" and isinstance(item, dict):
            key_value = {k: v for k, v in item.items() if k not in fields}
        else:
            key_value = item
        key = json.dumps(key_value, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
