"""A node's input values as its handler receives them.

Order: the catalog's defaults, then the node's own values, each with its `{{ }}` expressions
evaluated; then values arriving on wires into input ports (never evaluated: data from upstream
cannot inject an expression; inputs marked `per_item` are left as written, for the handler to fill
in per item); finally every value is coerced to its input's `ValueType`. A value
that cannot be coerced fails the node with a message naming the node and the field's label.

Sizes are limited while expressions are filled in: one value may become at most
`expression_limits.MAX_VALUE_SIZE` characters, and all of a run's values with expressions together at
most `expression_limits.MAX_RUN_EXPRESSION_OUTPUT` (counted in the run's `ExpressionOutput`)."""

from __future__ import annotations

import json
import math
from typing import Any

from studio.catalog.models import Action, Input, ValueType

from . import expression_limits
from .context import Artifact, NodeError
from .expressions import ExpressionError, Scope, SizeBudget, ValueTooLarge, render_value, to_text


# Values of exactly these types hold no expression: they go to coercion as they are.
_AS_WRITTEN = frozenset({int, float, bool, type(None)})


class ExpressionOutput:
    """How many characters a run's expressions have produced so far (one per run)."""

    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0


class InputShape:
    """What `resolve_inputs` needs of an action, worked out once per action (a run keeps one per
    action it runs): its defaults, its inputs by key and those filled in per item."""

    __slots__ = ("defaults", "specs", "per_item", "empty", "coercions")

    def __init__(self, action: Action | None) -> None:
        self.defaults: dict[str, Any] = action.defaults() if action is not None else {}
        self.specs: dict[str, Input] = {item.key: item for item in action.inputs} if action is not None else {}
        self.per_item: frozenset[str] = frozenset(key for key, item in self.specs.items() if item.per_item)
        # No inputs at all (a Manual trigger, a Merge): a node of it with no values resolves to {}.
        self.empty = not self.defaults and not self.specs
        # (key, spec, how its values are coerced) of every input coerced, in declaration order:
        # text inputs (most of them) keep text as it is without going through `coerce`.
        self.coercions: tuple[tuple[str, Input, Any], ...] = tuple(
            (key, spec, _keep_text if spec.type in _TEXT_TYPES else coerce)
            for key, spec in self.specs.items() if key not in self.per_item)


def _label(action: Action | None, key: str) -> str:
    if action is not None:
        for item in action.inputs:
            if item.key == key:
                return item.label
    return key


def resolve_inputs(
    node_name: str,
    action: Action | None,
    values: dict[str, Any],
    scope: Scope,
    wired: dict[str, list[Any]] | None = None,
    output: ExpressionOutput | None = None,
    shape: InputShape | None = None,
) -> dict[str, Any]:
    """Defaults -> values -> expressions -> wired port values -> coercion (see module docstring).

    `wired` maps an input key to the values of its active wires, in wire order; `output` is the
    run's count of expression output, which this node's values add to (and must stay within);
    `shape` is `InputShape(action)` when the caller keeps one."""
    wired = wired or {}
    shape = shape if shape is not None else InputShape(action)
    merged: dict[str, Any] = {**shape.defaults, **values}
    resolved: dict[str, Any] = {}
    # Inputs filled in per item are left as written: the handler renders them for each item.
    per_item = shape.per_item
    for key, value in merged.items():
        if key in wired:
            continue
        kind = type(value)
        if key in per_item or kind in _AS_WRITTEN or (kind is str and "{{" not in value):
            resolved[key] = value  # nothing to fill in (most values: numbers, plain text, empty)
            continue
        run_left = None if output is None else expression_limits.MAX_RUN_EXPRESSION_OUTPUT - output.used
        budget = SizeBudget(run_left=run_left)
        try:
            resolved[key] = render_value(value, scope, budget)
        except ValueTooLarge as exc:
            raise NodeError(
                f"{node_name}: '{_label(action, key)}' {exc}",
                details={"field": key, "size": exc.size, "limit": exc.limit,
                         "limit_of": "run" if exc.run_total else "value"},
                retryable=False,
            ) from None
        except ExpressionError as exc:
            raise NodeError(
                f"{node_name}: '{_label(action, key)}': {exc}",
                details={"field": key, "expression": exc.expression},
                retryable=False,
            ) from exc
        if output is not None:
            output.used += budget.used
    specs = shape.specs
    for key, items in wired.items():
        spec = specs.get(key)
        resolved[key] = list(items) if spec is not None and spec.multiple else (items[0] if items else None)
    for key, spec, convert in shape.coercions:
        value = resolved.get(key)
        if value is not None:  # None stays None whatever the type (an empty field)
            resolved[key] = convert(value, spec, node_name)
    return resolved


def _keep_text(value: Any, spec: Input, node_name: str) -> Any:
    """`coerce` for a text input: text stays as it is."""
    return value if type(value) is str else coerce(value, spec, node_name)


def coerce(value: Any, spec: Input, node_name: str) -> Any:
    """`value` as the type `spec` declares; NodeError naming node and field when impossible."""
    try:
        result = _coerce(value, spec)
    except _Mismatch as exc:
        shown = to_text(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise NodeError(
            f"{node_name}: '{spec.label}' expects {exc.expected}, got {shown!r}",
            details={"field": spec.key, "expected": exc.expected},
            retryable=False,
        ) from None
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        if spec.minimum is not None and result < spec.minimum:
            raise NodeError(f"{node_name}: '{spec.label}' must be at least {_num(spec.minimum)}, got {_num(result)}",
                            details={"field": spec.key}, retryable=False)
        if spec.maximum is not None and result > spec.maximum:
            raise NodeError(f"{node_name}: '{spec.label}' must be at most {_num(spec.maximum)}, got {_num(result)}",
                            details={"field": spec.key}, retryable=False)
    return result


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _Mismatch(Exception):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


_TEXT_TYPES = frozenset({ValueType.STRING, ValueType.TEXT, ValueType.CONNECTION, ValueType.MODEL})


def _coerce(value: Any, spec: Input) -> Any:
    kind = spec.type
    if isinstance(value, Artifact):
        value = value.to_json()
    if value is None:
        return None
    if kind in _TEXT_TYPES:
        return value if isinstance(value, str) else to_text(value)
    if kind is ValueType.NUMBER:
        return _number(value, integer=False)
    if kind is ValueType.INTEGER:
        return _number(value, integer=True)
    if kind is ValueType.BOOLEAN:
        return _boolean(value)
    if kind is ValueType.ENUM:
        return _enum(value, spec)
    if kind is ValueType.JSON:
        # Text holding a JSON object or array (typed in a panel, or a model's JSON answer) is
        # parsed; any other text is left for the handler, which knows whether text is fine.
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value
    if kind is ValueType.KEY_VALUE:
        return _key_values(value)
    if kind is ValueType.STRING_LIST:
        return _string_list(value)
    if kind is ValueType.FILE:
        if isinstance(value, (str, dict, list)):
            return value
        raise _Mismatch("a file path or an upstream file")
    return value  # pragma: no cover - every ValueType is handled above


def _number(value: Any, *, integer: bool) -> int | float | None:
    expected = "a whole number" if integer else "a number"
    if isinstance(value, bool):
        raise _Mismatch(expected)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise _Mismatch(expected) from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Mismatch(expected)
        if integer:
            if not value.is_integer():
                raise _Mismatch(expected)
            return int(value)
        return value
    if isinstance(value, int):
        return value
    raise _Mismatch(expected)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Mismatch("true or false")


def _enum(value: Any, spec: Input) -> Any:
    options = spec.options or []
    for option in options:
        if value == option.value and type(value) is type(option.value):
            return option.value
    if value == "":
        return None
    text = to_text(value).strip()
    for option in options:
        if text == to_text(option.value) or text.lower() == option.label.lower():
            return option.value
    raise _Mismatch("one of " + ", ".join(repr(o.value) for o in options))


def _key_values(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _Mismatch("an object of key/value pairs") from None
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        pairs: dict[str, Any] = {}
        for item in value:
            if isinstance(item, dict) and "key" in item:
                pairs[str(item["key"])] = item.get("value")
            else:
                raise _Mismatch("an object of key/value pairs")
        return pairs
    raise _Mismatch("an object of key/value pairs")


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return [to_text(v) for v in parsed if v is not None]
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return [to_text(v) for v in value if v is not None]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [to_text(value)]
    raise _Mismatch("a list of text")
