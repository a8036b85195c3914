"""Typed conditions of If, Switch and Filter: {"left", "operator": "<type>.<operation>", "right"}
(n8n's leftValue/rightValue and {"type", "operation"} operators are read too), combined with AND
or OR. Strict by default: a value of the wrong type fails the node naming the condition; with
`loose` values are converted ("3" -> 3, "true" -> true)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from studio.catalog.data.core import OPERATORS, UNARY_OPERATIONS
from studio.engine.context import NodeError
from studio.engine.expressions import to_text

MAX_PATTERN = 1000


class ConditionError(NodeError):
    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def operator_of(condition: dict[str, Any], where: str) -> tuple[str, str]:
    op = condition.get("operator")
    if isinstance(op, dict):
        kind, operation = str(op.get("type", "")), str(op.get("operation", ""))
    elif isinstance(op, str) and "." in op:
        kind, operation = op.split(".", 1)
    else:
        raise ConditionError(f"{where}: 'operator' must be \"<type>.<operation>\", e.g. \"string.equals\"; got {op!r}")
    operation = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()  # n8n's camelCase names
    operation = {"not_equal": "not_equals", "is_empty": "empty", "is_not_empty": "not_empty", "exists": "exists",
                 "not_exist": "not_exists", "does_not_exist": "not_exists", "regex_not": "not_regex",
                 "is_true": "true", "is_false": "false", "starts": "starts_with", "ends": "ends_with",
                 "after_or_equals": "after_or_equal", "before_or_equals": "before_or_equal"}.get(
        operation, operation)
    kind = "datetime" if kind == "dateTime" else kind
    if kind not in OPERATORS or operation not in OPERATORS[kind]:
        known = ", ".join(f"{t}.{o}" for t, ops in OPERATORS.items() for o in ops)
        raise ConditionError(f"{where}: unknown operator {kind}.{operation} (known: {known})")
    return kind, operation


def _convert(value: Any, kind: str, loose: bool, where: str, side: str) -> Any:
    ok = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "datetime": lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool),
    }[kind]
    if value is None or ok(value):
        return value
    if loose:
        converted = _loose(value, kind)
        if converted is not None:
            return converted
    raise ConditionError(f"{where}: the {side} value {to_text(value)[:80]!r} is not a {kind}"
                         + ("" if loose else " (turn on 'Convert Types Where Required' to convert it)"))


def _loose(value: Any, kind: str) -> Any:
    if kind == "string":
        return to_text(value)
    if kind == "number":
        try:
            number = float(str(value).strip()) if not isinstance(value, bool) else float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        text = str(value).strip().lower()
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text)
    if kind in ("array", "object") and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list if kind == "array" else dict) else None
    return None


def _when(value: Any, where: str) -> datetime:
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ConditionError(f"{where}: {value!r} is not a date and time (ISO 8601, e.g. 2024-05-01T12:00:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def evaluate(condition: Any, *, ignore_case: bool, loose: bool, where: str) -> bool:
    if not isinstance(condition, dict):
        raise ConditionError(f"{where}: a condition must be an object {{left, operator, right}}")
    kind, op = operator_of(condition, where)
    left = condition.get("left", condition.get("leftValue"))
    right = condition.get("right", condition.get("rightValue"))
    if op == "exists":
        return left is not None
    if op == "not_exists":
        return left is None
    left = _convert(left, kind, loose, where, "left")
    if op == "empty":
        return _empty(left)
    if op == "not_empty":
        return not _empty(left)
    if op in ("true", "false"):
        return left is (op == "true")
    if kind == "array" and op.startswith("length_"):
        right = _convert(right, "number", True, where, "right")
        size = len(left or [])
        return {"length_equals": size == right, "length_not_equals": size != right, "length_gt": size > right,
                "length_gte": size >= right, "length_lt": size < right, "length_lte": size <= right}[op]
    if kind == "array":
        needle = right
        haystack = left or []
        if ignore_case and isinstance(needle, str):
            needle = needle.lower()
            haystack = [x.lower() if isinstance(x, str) else x for x in haystack]
        found = needle in haystack
        return found if op == "contains" else not found
    right = _convert(right, kind, loose, where, "right") if op not in UNARY_OPERATIONS else None
    if kind == "string":
        a, b = left or "", right or ""
        if ignore_case:
            a, b = a.lower(), b.lower()
        if op in ("regex", "not_regex"):
            if len(b) > MAX_PATTERN:
                raise ConditionError(f"{where}: the pattern is longer than {MAX_PATTERN} characters")
            try:
                hit = re.search(b, a, re.IGNORECASE if ignore_case else 0) is not None
            except re.error as exc:
                raise ConditionError(f"{where}: {b!r} is not a valid regular expression ({exc})") from None
            return hit if op == "regex" else not hit
        positive = op.removeprefix("not_")
        result = {"equals": a == b, "contains": b in a, "starts_with": a.startswith(b), "ends_with": a.endswith(b)}[
            positive]
        return result if positive == op else not result
    if kind == "datetime":
        if left is None or right is None:  # a missing date equals only another missing one
            return {"equals": left == right, "not_equals": left != right}.get(op, False)
        a, b = _when(left, where), _when(right, where)
    else:
        a, b = left, right
    if op == "equals":
        return a == b
    if op == "not_equals":
        return a != b
    if a is None or b is None:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b, "after": a > b, "before": a < b,
            "after_or_equal": a >= b, "before_or_equal": a <= b}[op]


def matches(conditions: Any, combinator: str, *, ignore_case: bool, loose: bool, where: str) -> bool:
    """Whether the (already per-item rendered) conditions hold; an empty list holds."""
    if isinstance(conditions, dict) and "conditions" in conditions:  # n8n's {conditions, combinator}
        combinator = str(conditions.get("combinator") or combinator)
        conditions = conditions["conditions"]
    if not isinstance(conditions, list):
        raise ConditionError(f"{where}: 'Conditions' must be a list of {{left, operator, right}} objects")
    results = (evaluate(c, ignore_case=ignore_case, loose=loose, where=f"{where}, condition {i + 1}")
               for i, c in enumerate(conditions))
    if str(combinator).lower() == "or":
        return any(results) if conditions else True
    return all(results)
