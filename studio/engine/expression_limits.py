"""Limits of `{{ }}` expressions and the sizes they are checked against: how long an expression
may be, how large one filled-in value and one run's expression output may grow (rendering stops as
soon as a limit is passed), and the errors that say which limit was hit."""

from __future__ import annotations

import re
from typing import Any, Mapping

MAX_EXPRESSION_LENGTH = 1000
MAX_TOKENS = 300
MAX_NESTING = 16
MAX_TEMPLATE_EXPRESSIONS = 200
# Size limits, in characters of text (a value that is not text counts as its JSON): one value
# after its expressions are filled in, and every value with expressions in one run together.
# Rendering stops as soon as a limit is passed (see `SizeBudget`), so a flow whose values
# reference each other many times fails its node instead of exhausting memory.
MAX_VALUE_SIZE = 16 * 1024 * 1024
MAX_RUN_EXPRESSION_OUTPUT = 256 * 1024 * 1024
NAMESPACES = ("trigger", "nodes", "input", "run")


class ExpressionError(Exception):
    """An expression cannot be read or evaluated; the message names the expression and why."""

    def __init__(self, message: str, expression: str | None = None) -> None:
        self.reason = message
        self.expression = expression
        super().__init__(f"{message} (in {{{{ {expression} }}}})" if expression is not None else message)


class MissingValueError(ExpressionError):
    """A path points at a key, index or node output that is not there (the `default` filter
    turns this into its fallback)."""


class ValueTooLarge(ExpressionError):
    """Filling in a value's expressions would pass a size limit. `size` is the value's size in
    characters (`exact` False: at least that much; rendering stopped early), `limit` the limit
    passed, `run_total` True when it is the run's total rather than the one value's."""

    def __init__(self, size: int, limit: int, *, exact: bool = True, run_total: bool = False) -> None:
        self.size = size
        self.limit = limit
        self.exact = exact
        self.run_total = run_total
        shown = format_size(size) if exact else f"more than {format_size(size)}"
        if run_total:
            message = (f"would bring this run's expression output to {shown}; "
                       f"the limit for one run is {format_size(limit)}")
        else:
            message = f"would be {shown} after its expressions are filled in; the limit is {format_size(limit)}"
        super().__init__(message)


def format_size(size: int) -> str:
    """`16 MiB`, `2.4 GiB`, `812 characters`: sizes in characters, in binary units."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            amount = size / scale
            return f"{amount:.0f} {unit}" if amount.is_integer() else f"{amount:.1f} {unit}"
    return f"{size} characters"


class SizeBudget:
    """How much text the expressions of one value may produce: `value_limit` (default
    `MAX_VALUE_SIZE`), and `run_left` of the run's total (None: no run total). `used` grows as
    pieces are added; `add` raises `ValueTooLarge` as soon as a limit is passed."""

    def __init__(self, value_limit: int | None = None, run_left: int | None = None) -> None:
        self.value_limit = MAX_VALUE_SIZE if value_limit is None else value_limit
        self.run_left = run_left
        self.used = 0

    @property
    def limit(self) -> int:
        return self.value_limit if self.run_left is None else max(0, min(self.value_limit, self.run_left))

    def room(self) -> int:
        return max(0, self.limit - self.used)

    def over(self, size: int, *, exact: bool = True) -> ValueTooLarge:
        run_total = self.run_left is not None and self.run_left < self.value_limit and size > self.run_left
        if run_total:
            total = size + (MAX_RUN_EXPRESSION_OUTPUT - (self.run_left or 0))
            return ValueTooLarge(max(total, 0), MAX_RUN_EXPRESSION_OUTPUT, exact=exact, run_total=True)
        return ValueTooLarge(size, self.value_limit, exact=exact)

    def add(self, size: int, *, exact: bool = True) -> None:
        self.used += size
        if self.used > self.limit:
            raise self.over(self.used, exact=exact)


_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def _str_size(text: str) -> int:
    """An upper bound of the length of `text` written as a JSON string (quotes and escapes)."""
    size = len(text) + 2
    if '"' in text or "\\" in text or not text.isprintable():
        size += 5 * (len(text) - len(_JSON_ESCAPED.sub("", text)))
    return size


def json_size(value: Any, limit: int, indent: int | None = None) -> int:
    """An upper bound of the length of `value`'s JSON (as `to_text` and the `json` filter write
    it), or a number above `limit` as soon as the count passes it: the walk stops there, so it
    costs at most about `limit` steps whatever the value. A sub-object that appears several times
    counts each time it would be written, and a cycle counts as too large."""
    if indent is not None:
        return _indented_json_size(value, limit, indent)
    total = 0
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:  # dict keys are pushed as items too: a key is written like a string value
            total += len(item) + 2
            if '"' in item or "\\" in item or not item.isprintable():
                total += 5 * (len(item) - len(_JSON_ESCAPED.sub("", item)))
        elif kind is dict:
            total += 2 + 5 * len(item)  # braces, ": " and ", " (and quotes around a number key)
            if total > limit:
                return total
            extend(item.keys())
            extend(item.values())
        elif kind is list:
            total += 2 + 2 * len(item)
            if total > limit:
                return total
            extend(item)
        elif item is None or item is True or item is False:
            total += 5
        elif kind is int:
            total += item.bit_length() // 3 + 2
        elif kind is float:
            total += 24
        else:  # subclasses, other mappings and sequences, objects written as their str()
            total += _indented_json_size(item, max(0, limit - total), None)
        if total > limit:
            return total
    return total


def _indented_json_size(value: Any, limit: int, indent: int | None) -> int:
    """`json_size` for `json(indent)` (each item on its own line, indented by its depth), and
    for values other than plain dicts, lists and scalars."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            total += _str_size(item)
        elif item is None or isinstance(item, bool):
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, (Mapping, list, tuple)):
            per_item = 2 if indent is None else 2 + indent * (depth + 1)
            total += 2 + (0 if indent is None else 1 + indent * depth) + per_item * len(item)
            if total > limit:
                return total
            if isinstance(item, Mapping):
                for key, child in item.items():
                    total += 3 + _str_size(key if isinstance(key, str) else str(key))
                    if total > limit:
                        return total
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        else:  # anything else is written as its str() (json.dumps(default=str))
            total += _str_size(str(item))
        if total > limit:
            return total
    return total


def text_size(value: Any, limit: int) -> int:
    """The length of `to_text(value)` (an upper bound for objects and lists), or a number above
    `limit` when it is larger; costs at most about `limit` steps."""
    if isinstance(value, str):
        return len(value)
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 24
    return json_size(value, limit)
