"""n8n conditions (If, Filter, Switch rules) in our condition format: v2+ filter conditions
(`{leftValue, rightValue, operator: {type, operation}}` with a combinator) and the v1 shape
(`{string: [{value1, operation, value2}], number: [...], ...}` with combineOperation)."""

from __future__ import annotations

import re
from typing import Any

from studio.catalog.data.core import OPERATORS

from .context import Context
from .workflow import N8nNode

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_SPECIAL = {"afterOrEquals": "after_or_equal", "beforeOrEquals": "before_or_equal",
            "notExists": "not_exists", "notEmpty": "not_empty", "lengthGte": "length_gte", "lengthLte": "length_lte"}
_V1_OPERATIONS = {
    "equal": "equals", "notEqual": "not_equals", "contains": "contains", "notContains": "not_contains",
    "startsWith": "starts_with", "notStartsWith": "not_starts_with", "endsWith": "ends_with",
    "notEndsWith": "not_ends_with", "regex": "regex", "notRegex": "not_regex", "isEmpty": "empty",
    "isNotEmpty": "not_empty", "smaller": "lt", "smallerEqual": "lte", "larger": "gt", "largerEqual": "gte",
    "after": "after", "before": "before",
}
_V1_DEFAULT_OPERATION = {"string": "equal", "number": "smaller", "boolean": "equal", "dateTime": "after"}


class NoEquivalent(ValueError):
    """A condition uses an operator we do not have."""


def _operation(name: str) -> str:
    return _SPECIAL.get(name) or _CAMEL.sub("_", name).lower()


def v2_conditions(ctx: Context, n8n: N8nNode, block: Any, where: str) -> tuple[list[dict[str, Any]], str]:
    """(conditions, combinator) from an n8n filter value {conditions: [...], combinator}."""
    block = block if isinstance(block, dict) else {}
    out = []
    for i, cond in enumerate(block.get("conditions") or []):
        if not isinstance(cond, dict):
            continue
        operator = cond.get("operator") if isinstance(cond.get("operator"), dict) else {}
        kind = str(operator.get("type", "string"))
        kind = "datetime" if kind == "dateTime" else kind
        op = _operation(str(operator.get("operation", "equals")))
        if op not in OPERATORS.get(kind, []):
            raise NoEquivalent(f"operator {kind}.{op} has no equivalent")
        item = {"left": ctx.value(n8n, f"{where}[{i}].leftValue", cond.get("leftValue", "")),
                "operator": f"{kind}.{op}"}
        if not operator.get("singleValue"):
            item["right"] = ctx.value(n8n, f"{where}[{i}].rightValue", cond.get("rightValue", ""))
        out.append(item)
    combinator = block.get("combinator", "and")
    return out, combinator if combinator in ("and", "or") else "and"


def v1_conditions(ctx: Context, n8n: N8nNode) -> tuple[list[dict[str, Any]], str]:
    block = n8n.param("conditions", {})
    out = []
    for kind in ("boolean", "dateTime", "number", "string"):
        rows = block.get(kind) if isinstance(block, dict) else None
        for i, row in enumerate(rows if isinstance(rows, list) else []):
            if not isinstance(row, dict):
                continue
            op = _V1_OPERATIONS.get(str(row.get("operation", _V1_DEFAULT_OPERATION[kind])))
            if op is None:
                raise NoEquivalent(f"operation {row.get('operation')} has no equivalent")
            default = False if kind == "boolean" else (0 if kind == "number" else "")
            out.append({"left": ctx.value(n8n, f"conditions.{kind}[{i}].value1", row.get("value1", default)),
                        "operator": f"{'datetime' if kind == 'dateTime' else kind}.{op}",
                        "right": ctx.value(n8n, f"conditions.{kind}[{i}].value2", row.get("value2", default))})
    combine = n8n.param("combineOperation", "all")
    return out, "or" if combine == "any" else "and"


def options(n8n: N8nNode, block: Any) -> dict[str, Any]:
    """ignore_case / loose_types from the node's options and the filter's own options."""
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    inner = block.get("options") if isinstance(block, dict) and isinstance(block.get("options"), dict) else {}
    values: dict[str, Any] = {}
    if opts.get("ignoreCase") or inner.get("caseSensitive") is False:
        values["ignore_case"] = True
    if opts.get("looseTypeValidation") or n8n.param("looseTypeValidation") or inner.get("typeValidation") == "loose":
        values["loose_types"] = True
    return values
