"""What the core handlers share: registration, items (a list input is a list of items, any other
value is one), per-item rendering of `per_item` inputs, and dotted field paths."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from studio.engine.context import NodeContext, NodeError
from studio.engine.expressions import ExpressionError
from studio.engine.handlers import register

Handler = Callable[[NodeContext], Awaitable[Any]]
_MISSING = object()


def handler_table() -> tuple[dict[str, Handler], Callable[[str], Callable[[Handler], Handler]]]:
    """A package's table of handlers and its `@handles(action_id)` decorator, which also registers
    the handler in the engine's default registry."""
    table: dict[str, Handler] = {}

    def handles(action_id: str) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            table[action_id] = fn
            register(action_id, fn)
            return fn

        return decorate

    return table, handles


ACTION_HANDLERS, handles = handler_table()


class InputError(NodeError):
    """A core node's input is wrong; retrying cannot help."""

    def __init__(self, ctx: NodeContext, field: str, message: str) -> None:
        label = next((i.label for i in ctx.action.inputs if i.key == field), field)
        super().__init__(f"{ctx.node.name}: '{label}' {message}", details={"field": field}, retryable=False)


def items_of(value: Any) -> tuple[list[Any], bool]:
    """(items, was a list): a JSON array is its items, nothing is no items, anything else one item."""
    if isinstance(value, list):
        return list(value), True
    if value is None:
        return [], True
    return [value], False


def rendered(ctx: NodeContext, key: str, item: Any) -> Any:
    """The node's `per_item` input `key` with its expressions filled in for `item`."""
    raw = ctx.inputs.get(key)
    if ctx.render is None:
        return raw
    try:
        return ctx.render(raw, item)
    except ExpressionError as exc:
        raise NodeError(f"{ctx.node.name}: '{key}': {exc}", details={"field": key, "expression": exc.expression},
                        retryable=False) from exc


def split_path(path: str, dots: bool = True) -> list[str]:
    return str(path).split(".") if dots else [str(path)]


def get_path(value: Any, path: str, default: Any = None, *, dots: bool = True) -> Any:
    """`a.b.0.c` inside dicts and lists; `default` when a step is not there."""
    current = value
    for part in split_path(path, dots):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def has_path(value: Any, path: str, *, dots: bool = True) -> bool:
    return get_path(value, path, _MISSING, dots=dots) is not _MISSING


def set_path(target: dict[str, Any], path: str, value: Any, *, dots: bool = True) -> None:
    """Set `a.b.c` in `target`, making the dicts on the way (a non-dict on the way is replaced)."""
    parts = split_path(path, dots)
    current = target
    for part in parts[:-1]:
        nxt = current.get(part)
        if not isinstance(nxt, dict):
            nxt = current[part] = {}
        current = nxt
    current[parts[-1]] = value


def delete_path(target: dict[str, Any], path: str, *, dots: bool = True) -> None:
    parts = split_path(path, dots)
    current: Any = target
    for part in parts[:-1]:
        current = current.get(part) if isinstance(current, dict) else None
    if isinstance(current, dict):
        current.pop(parts[-1], None)


def as_item_dict(item: Any) -> dict[str, Any]:
    """An item as an object: a non-object item is {"value": item}."""
    return dict(item) if isinstance(item, dict) else {"value": item}
