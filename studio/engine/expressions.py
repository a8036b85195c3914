"""`{{ ... }}` expressions in node values, safe by construction.

An expression is a path into plain JSON data plus a few filters:

    {{ trigger.topic }}   {{ nodes.Summarize.output.choices[0].message.content }}
    {{ nodes["Web Search"].output | json }}   {{ input.items | length }}   {{ trigger.x | default('n/a') }}

There is no Python `eval`, no attribute access, no calls other than the filters below and no
arithmetic: a path step only reads a dict key or a list index of JSON data, so `__class__` is just
a key that is not there. Anything else is rejected by the tokenizer or parser with an
`ExpressionError` naming the expression.

Namespaces: `trigger` (the run's trigger payload), `nodes.<Name>.output` (and `.status`,
`.error`), `input` (the value on the node's main `in` port), `run` (`run.id`, `run.flow_name` ...).

A value that is exactly one `{{ expr }}` becomes the raw value (a dict stays a dict); text mixed
with expressions interpolates them as text (dicts and lists as JSON, None as empty text).
Results are never evaluated again, so data that contains `{{` cannot inject an expression."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping  # (isinstance checks against typing's alias are slower)
from dataclasses import dataclass
from typing import Any, Callable

from . import expression_limits
from .expression_limits import (  # noqa: F401 - the limits and errors are part of this module's API
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING,
    MAX_RUN_EXPRESSION_OUTPUT,
    MAX_TEMPLATE_EXPRESSIONS,
    MAX_TOKENS,
    MAX_VALUE_SIZE,
    NAMESPACES,
    ExpressionError,
    MissingValueError,
    SizeBudget,
    ValueTooLarge,
    format_size,
    json_size,
    text_size,
)
from .expression_syntax import (  # noqa: F401 - the syntax tree is part of this module's API
    _NAME,
    FILTER_ARITY,
    Filter,
    Literal,
    Path,
    Pipe,
    Step,
    Token,
    parse,
    tokenize,
)

# --- evaluation --------------------------------------------------------------------------------


class NodeEntry(dict):
    """`nodes.<Name>`: a node's status and, once it has finished, its `output` and `error`."""

    def __init__(self, name: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.name = name


@dataclass
class Scope:
    """What an expression can see."""

    trigger: Any = None
    nodes: Mapping[str, Any] | None = None  # name -> NodeEntry (or a plain dict)
    input: Any = None
    run: Mapping[str, Any] | None = None

    def root(self, name: str) -> Any:
        """One root by name (only that one is read: `nodes` and `run` may be built on demand)."""
        if name == "input":
            return self.input
        if name == "trigger":
            return self.trigger
        if name == "nodes":
            return self.nodes or {}
        if name == "run":
            return self.run or {}
        raise KeyError(name)


def _path_text(root: str, keys: list[Any]) -> str:
    text = root
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        elif isinstance(key, str) and _NAME.fullmatch(key):
            text += f".{key}"
        else:
            text += f"[{json.dumps(key)}]"
    return text


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "a value"


class _Evaluator:
    def __init__(self, text: str, scope: Scope, budget: SizeBudget | None = None) -> None:
        self.text = text
        self.scope = scope
        self.budget = budget

    def limit(self) -> int:
        """The most text one filter may produce (the value's limit)."""
        return self.budget.limit if self.budget is not None else expression_limits.MAX_VALUE_SIZE

    def bounded_text(self, value: Any) -> str:
        """`to_text(value)`, refusing (ValueTooLarge) before writing out more than the limit."""
        if isinstance(value, str):
            return value
        limit = self.limit()
        size = text_size(value, limit)
        if size > limit:
            raise (self.budget.over(size, exact=False) if self.budget is not None
                   else ValueTooLarge(size, limit, exact=False))
        return to_text(value)

    def missing(self, message: str) -> MissingValueError:
        return MissingValueError(message, self.text)

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(message, self.text)

    def eval(self, node: Any) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Pipe):
            return self.pipe(node)
        if isinstance(node, Path):
            return self.path(node)
        raise self.error("cannot evaluate this expression")  # pragma: no cover - parser guarantees

    def pipe(self, node: Pipe) -> Any:
        try:
            value = self.eval(node.head)
        except MissingValueError:
            if node.filters and node.filters[0].name == "default":
                value = None
            else:
                raise
        for flt in node.filters:
            args = [self.eval(arg) for arg in flt.args]
            value = FILTERS[flt.name](self, value, *args)
        return value

    def path(self, node: Path) -> Any:
        value = self.scope.root(node.root)
        walked: list[Any] = []
        if node.root == "input" and value is None and node.steps:
            raise self.missing("this node has no input (nothing arrived on its 'in' port)")
        for step in node.steps:
            key = step.key if step.expr is None else self.eval(step.expr)
            value = self.step(node.root, walked, value, key)
            walked.append(key)
        if not isinstance(value, dict) and isinstance(value, Mapping):
            value = {k: value[k] for k in value}  # a lazy view (`nodes`) read whole
        return value

    def step(self, root: str, walked: list[Any], value: Any, key: Any) -> Any:
        if type(value) is dict and type(key) is str and key in value and (root != "nodes" or walked):
            return value[key]  # the usual step: a key of plain data
        where = _path_text(root, walked)  # for the messages below
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise self.error(f"a key must be text or a whole number, got {_type_name(key)} in {where}")
        if root == "nodes" and not walked:
            if not isinstance(key, str) or key not in value:
                raise self.missing(f"no node named {key!r} in this flow")
            return value[key]
        if isinstance(value, NodeEntry) and key not in value:
            if key == "output":
                raise self.missing(f"nodes.{value.name} has no output yet")
            raise self.missing(f"nodes.{value.name} has no {key!r} (use output, status or error)")
        if isinstance(value, Mapping):
            if isinstance(key, int) and key not in value and str(key) in value:
                key = str(key)
            if key not in value:
                raise self.missing(f"key {key!r} not found in {where}")
            return value[key]
        if isinstance(value, list):
            if not isinstance(key, int):
                raise self.missing(f"{where} is a list; use an index like [0], not {key!r}")
            if not -len(value) <= key < len(value):
                raise self.missing(f"index {key} out of range in {where} (length {len(value)})")
            return value[key]
        if value is None:
            raise self.missing(f"{where} is null, so it has no {key!r}")
        raise self.missing(f"{where} is {_type_name(value)}, so it has no {key!r}")


# --- filters -----------------------------------------------------------------------------------


def _f_json(ev: _Evaluator, value: Any, indent: Any = None) -> str:
    if indent is not None and (isinstance(indent, bool) or not isinstance(indent, int) or not 0 <= indent <= 8):
        raise ev.error("json indent must be a whole number from 0 to 8")
    limit = ev.limit()
    size = json_size(value, limit, indent)
    if size > limit:
        raise ev.budget.over(size, exact=False) if ev.budget is not None else ValueTooLarge(size, limit, exact=False)
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def _f_length(ev: _Evaluator, value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    if value is None:
        return 0
    raise ev.error(f"length needs text, a list or an object, got {_type_name(value)}")


def _f_default(ev: _Evaluator, value: Any, fallback: Any = "") -> Any:
    return fallback if value is None or value == "" else value


def _f_text(ev: _Evaluator, value: Any) -> str:
    return ev.bounded_text(value)


def _f_upper(ev: _Evaluator, value: Any) -> str:
    return ev.bounded_text(value).upper()


def _f_lower(ev: _Evaluator, value: Any) -> str:
    return ev.bounded_text(value).lower()


def _f_trim(ev: _Evaluator, value: Any) -> str:
    return ev.bounded_text(value).strip()


def _f_number(ev: _Evaluator, value: Any) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (Mapping, list, tuple)):  # never a number; and its text may be huge
        shown = to_text(value) if json_size(value, 200) <= 200 else ("{...}" if isinstance(value, Mapping) else "[...]")
        raise ev.error(f"number cannot read {shown[:40]!r} as a number")
    try:
        text = str(value).strip()
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    except (TypeError, ValueError):
        raise ev.error(f"number cannot read {to_text(value)[:40]!r} as a number") from None


def _f_first(ev: _Evaluator, value: Any) -> Any:
    if isinstance(value, (list, str)):
        if not value:
            raise ev.missing("first of an empty list")
        return value[0]
    raise ev.error(f"first needs a list, got {_type_name(value)}")


def _f_last(ev: _Evaluator, value: Any) -> Any:
    if isinstance(value, (list, str)):
        if not value:
            raise ev.missing("last of an empty list")
        return value[-1]
    raise ev.error(f"last needs a list, got {_type_name(value)}")


def _f_join(ev: _Evaluator, value: Any, sep: Any = ", ") -> str:
    if not isinstance(value, list):
        raise ev.error(f"join needs a list, got {_type_name(value)}")
    sep_text = ev.bounded_text(sep)
    limit = ev.limit()
    size = len(sep_text) * max(0, len(value) - 1)
    for item in value:
        if size > limit:
            break
        size += text_size(item, limit - size)
    if size > limit:
        raise ev.budget.over(size, exact=False) if ev.budget is not None else ValueTooLarge(size, limit, exact=False)
    return sep_text.join(to_text(v) for v in value)


def _f_keys(ev: _Evaluator, value: Any) -> list[str]:
    if not isinstance(value, Mapping):
        raise ev.error(f"keys needs an object, got {_type_name(value)}")
    return [str(k) for k in value.keys()]


FILTERS: dict[str, Callable[..., Any]] = {
    "json": _f_json,
    "length": _f_length,
    "default": _f_default,
    "string": _f_text,
    "upper": _f_upper,
    "lower": _f_lower,
    "trim": _f_trim,
    "number": _f_number,
    "first": _f_first,
    "last": _f_last,
    "join": _f_join,
    "keys": _f_keys,
}
if set(FILTERS) != set(FILTER_ARITY):  # the parser's table and this one name the same filters
    raise RuntimeError(f"filters without an arity or a function: {set(FILTERS) ^ set(FILTER_ARITY)}")


# --- templates ---------------------------------------------------------------------------------

def has_expression(value: Any) -> bool:
    """True when `value` is text holding at least one `{{`."""
    return isinstance(value, str) and "{{" in value


def to_text(value: Any) -> str:
    """How a value reads inside text: JSON for objects and lists, empty for null."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Expression:
    """One `{{ ... }}` of a template: its text and syntax tree."""

    text: str
    tree: Pipe

    def evaluate(self, scope: Scope, budget: SizeBudget | None = None) -> Any:
        return _Evaluator(self.text, scope, budget).eval(self.tree)


def split_template(template: str) -> list[str | Expression]:
    """Text pieces and parsed expressions, in order. Raises on a `{{` without `}}`.

    Each `{{` is paired with the first `}}` after it (what a lazy `{{(.*?)}}` regex would do),
    but by a scanner that looks at every character a bounded number of times: a value with
    thousands of unclosed `{{` takes linear, not quadratic, time."""
    parts: list[str | Expression] = []
    pos = 0
    count = 0
    while True:
        start = template.find("{{", pos)
        if start < 0:
            break
        end = template.find("}}", start + 2)
        if end < 0:  # no `}}` after this `{{`, so none after any later one either
            break
        count += 1
        if count > MAX_TEMPLATE_EXPRESSIONS:
            raise ExpressionError(f"a value may hold at most {MAX_TEMPLATE_EXPRESSIONS} expressions")
        if start > pos:
            parts.append(template[pos:start])
        body = template[start + 2 : end]
        if "{{" in body:
            raise ExpressionError("'{{' inside an expression; expressions cannot be nested", body.strip()[:80])
        parts.append(Expression(body.strip(), parse(body)))
        pos = end + 2
    rest = template[pos:]
    if "{{" in rest:
        raise ExpressionError("'{{' without a matching '}}'", rest[rest.index("{{") + 2 :].strip()[:80])
    if rest:
        parts.append(rest)
    return parts


CACHED_TEMPLATE_CHARS = 4096  # longer values are parsed each time (a prompt is seldom rendered twice)
_cached_parts = functools.lru_cache(maxsize=2048)(lambda template: tuple(split_template(template)))


def template_parts(template: str) -> tuple[str | Expression, ...]:
    """`split_template`, parsed once per distinct value: a flow run again and again (a served
    webhook) renders the same values every time. The pieces are immutable; errors are not kept."""
    return _cached_parts(template) if len(template) <= CACHED_TEMPLATE_CHARS else tuple(split_template(template))


def evaluate(expression: str, scope: Scope) -> Any:
    """The value of one expression (without the braces)."""
    text = expression.strip()
    return _Evaluator(text, scope).eval(parse(text))


def render(template: str, scope: Scope, budget: SizeBudget | None = None) -> Any:
    """A value string with its expressions filled in (see the module docstring for the rules).

    What the expressions produce is counted in `budget` (default: a fresh one with the
    `MAX_VALUE_SIZE` limit) piece by piece, and `ValueTooLarge` is raised as soon as it passes
    its limit: nothing larger than the limit is ever built or written out as JSON."""
    if not has_expression(template):
        return template
    parts = template_parts(template)
    budget = budget if budget is not None else SizeBudget()
    if len(parts) == 1 and isinstance(parts[0], Expression):
        value = parts[0].evaluate(scope, budget)
        if isinstance(value, str):
            budget.add(len(value))
        else:  # kept as it is, but counted as the JSON it becomes when written out
            budget.add(json_size(value, budget.room()), exact=False)
        return value
    pieces: list[str] = []
    exact = True  # False once a piece's size is an upper bound (objects as JSON)
    for index, part in enumerate(parts):
        if isinstance(part, str):
            text, size = part, len(part)
        else:
            value = part.evaluate(scope, budget)
            if isinstance(value, str):
                text, size = value, len(value)
            else:
                size = text_size(value, budget.room())
                exact = exact and not isinstance(value, (Mapping, list, tuple))
                text = to_text(value) if size <= budget.room() else ""
        if size > budget.room():  # stop here: count the rest only where that is cheap
            total = budget.used + size
            if exact:
                total, exact = _size_of_rest(total, parts[index + 1 :], scope)
            raise budget.over(total, exact=exact)
        budget.add(size)
        pieces.append(text)
    return "".join(pieces)


def _size_of_rest(size: int, rest: tuple[str | Expression, ...], scope: Scope) -> tuple[int, bool]:
    """(size, exact) of a value whose rendering passed its limit, for the error message: the
    remaining pieces are counted without being built while that stays cheap (text pieces, and
    expressions without filters whose value is text or a scalar); otherwise "more than"."""
    for part in rest:
        if isinstance(part, str):
            size += len(part)
            continue
        head = part.tree.head
        if part.tree.filters or not isinstance(head, (Path, Literal)) or (
                isinstance(head, Path) and any(step.expr is not None for step in head.steps)):
            return size, False
        try:
            value = part.evaluate(scope, SizeBudget(0))
        except ExpressionError:
            return size, False
        if isinstance(value, (Mapping, list, tuple)):
            return size, False
        size += text_size(value, 0)
    return size, True


def render_value(value: Any, scope: Scope, budget: SizeBudget | None = None) -> Any:
    """`render` applied to every string inside a value (dict values, list items), all counted in
    one `budget` (see `render`)."""
    kind = type(value)
    if kind is str and "{{" not in value:  # most strings inside objects and lists: nothing to fill in
        return value
    budget = budget if budget is not None else SizeBudget()
    if isinstance(value, str):
        return render(value, scope, budget)
    if isinstance(value, dict):
        return {k: render_value(v, scope, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, scope, budget) for v in value]
    return value


def check(template: str) -> list[str]:
    """Syntax problems in a value string (empty when fine): for validation without running."""
    try:
        split_template(template)
    except ExpressionError as exc:
        return [str(exc)]
    return []


def referenced_nodes(template: str) -> set[str]:
    """Names of the nodes a value's expressions read (`nodes.X` / `nodes["X"]`), for validation."""
    names: set[str] = set()
    try:
        parts = split_template(template)
    except ExpressionError:
        return names

    def visit(node: Any) -> None:
        if isinstance(node, Pipe):
            visit(node.head)
            for flt in node.filters:
                for arg in flt.args:
                    visit(arg)
        elif isinstance(node, Path):
            if node.root == "nodes" and node.steps and node.steps[0].expr is None and isinstance(node.steps[0].key, str):
                names.add(node.steps[0].key)
            for step in node.steps:
                if step.expr is not None:
                    visit(step.expr)

    for part in parts:
        if isinstance(part, Expression):
            visit(part.tree)
    return names
