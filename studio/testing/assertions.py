"""Checking a finished run against a test's assertions (`Flow.tests[].assertions`).

Each assertion kind is described in the catalog (`studio.catalog.data.assertions`); this module
checks that the stored data fits that description (`problems`) and evaluates it against the run's
result document (`evaluate`). Every result says what was expected, what the run gave and on which
node, so a failing test reads without opening the flow."""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from studio.catalog.catalog import Catalog
from studio.flow.case_checks import PathError, case_problems, path_steps
from studio.flow.cases import Assertion, FlowTest
from studio.flow.models import Flow

from .cassette import MISS_WORDS

Judge = Callable[[Assertion, Any], Awaitable[tuple[bool | None, str]]]
"""(assertion, value) -> (passed, reason); passed None: not judged (skipped), reason says why."""

CLIP = 300


@dataclass
class AssertionResult:
    index: int
    kind: str
    node: str
    path: str
    outcome: str  # passed | failed | skipped
    message: str = ""
    expected: Any = None
    actual: Any = None
    deterministic: bool = True
    note: str = ""

    @property
    def where(self) -> str:
        target = self.node or "the run"
        return f"{target}.{self.path}" if self.path else target

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "node": self.node or None, "path": self.path or None,
                "outcome": self.outcome, "message": self.message, "expected": self.expected,
                "actual": self.actual, "deterministic": self.deterministic}


def show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = json.dumps(text, ensure_ascii=False) if isinstance(value, str) else text
    return text if len(text) <= CLIP else text[: CLIP - 3] + "..."


# --- JSON paths ------------------------------------------------------------------------------------

def at_path(value: Any, path: str) -> Any:
    """The value at `path` inside `value`; PathError names the step that is missing."""
    current = value
    walked = ""
    for step in path_steps(path) if path else []:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                raise PathError(f"{walked or 'the output'} has no item [{step}] (it is {_kind(current)})")
            current = current[step]
            walked += f"[{step}]"
        else:
            if not isinstance(current, dict) or step not in current:
                keys = ", ".join(list(current)[:12]) if isinstance(current, dict) else ""
                raise PathError(f"{walked or 'the output'} has no key {step!r}"
                                + (f" (it has: {keys})" if keys else f" (it is {_kind(current)})"))
            current = current[step]
            walked += f".{step}" if walked else step
    return current


def _kind(value: Any) -> str:
    if isinstance(value, str) and value[:1] in "{[":  # JSON text: say so, it is a common surprise
        return "a text holding JSON"
    return {dict: "an object", list: "a list", str: "a text", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


# --- checking the stored data ------------------------------------------------------------------------


def problems(flow: Flow, catalog: Catalog, test: FlowTest, where: str) -> list[str]:
    """What is wrong with a stored test (unknown kinds, nodes, missing fields), one line each; the
    checks live with the flow document so validation reports them too."""
    return [str(p) for p in case_problems(flow, catalog, test, where)]


# --- evaluating ------------------------------------------------------------------------------------------


_OPERATORS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}


def _contains(actual: Any, expected: Any, ignore_case: bool) -> bool:
    if isinstance(actual, str):
        text = str(expected)
        return text.lower() in actual.lower() if ignore_case else text in actual
    if isinstance(actual, list):
        return any(item == expected or (isinstance(item, str) and ignore_case
                                        and item.lower() == str(expected).lower()) for item in actual)
    if isinstance(actual, dict):
        return str(expected) in actual
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _taken(flow: Flow, document: dict[str, Any], node_name: str, branch: str) -> bool | None:
    """Whether `node_name` routed out of port `branch` (None: the run does not tell)."""
    nodes = document.get("nodes") or {}
    node = next((n for n in flow.nodes if n.name == node_name), None)
    if node is None:
        return None
    targets = [flow.node(w.target.node).name for w in flow.outgoing(node.id) if w.source.port == branch]
    if targets:
        return any((nodes.get(t) or {}).get("reason") != "branch_not_taken"
                   and (nodes.get(t) or {}).get("status") not in (None, "pending") for t in targets)
    output = (nodes.get(node_name) or {}).get("output")
    if isinstance(output, dict) and "branch" in output:
        return output["branch"] == branch
    return None


def _tool_calls(entry: dict[str, Any]) -> list[dict[str, Any]]:
    calls = [s for s in entry.get("steps") or [] if s.get("type") == "tool_call"]
    for step in entry.get("steps") or []:
        for request in step.get("requests") or [] if step.get("type") == "approval_requested" else []:
            calls.append({"tool": request.get("tool"), "arguments": request.get("arguments")})
    return calls


def _arguments(call: dict[str, Any]) -> dict[str, Any]:
    args = call.get("arguments")
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return {}
    return args if isinstance(args, dict) else {}


class _Fail(Exception):
    def __init__(self, message: str, actual: Any = None) -> None:
        super().__init__(message)
        self.actual = actual


def _check(kind: str, values: dict[str, Any], item: Assertion, flow: Flow, document: dict[str, Any]) -> tuple[Any, Any]:
    """(expected, actual) when the check passes; _Fail when it does not."""
    nodes = document.get("nodes") or {}
    entry = nodes.get(item.node) or {} if item.node else {}
    if kind == "status":
        actual = entry.get("status")
        if actual != values.get("status"):
            reason = f" ({entry.get('reason')})" if entry.get("reason") else ""
            error = _error_line(entry)
            raise _Fail(f"status is {actual}{reason}" + (f": {error}" if error else ""), actual)
        return values.get("status"), actual
    if kind in ("branch_taken", "branch_not_taken"):
        taken = _taken(flow, document, item.node, str(values.get("branch")))
        want = kind == "branch_taken"
        if taken is None:
            raise _Fail(f"the run does not show whether branch {values.get('branch')!r} was taken")
        if taken != want:
            raise _Fail(f"branch {values.get('branch')!r} was {'not ' if want else ''}taken", taken)
        return want, taken
    if kind in ("tool_called", "tool_not_called"):
        calls = [c for c in _tool_calls(entry) if c.get("tool") == values.get("tool")]
        names = sorted({str(c.get("tool")) for c in _tool_calls(entry)})
        if kind == "tool_not_called":
            if calls:
                raise _Fail(f"{values.get('tool')} was called with {show(_arguments(calls[0]))}", names)
            return None, names
        if not calls:
            raise _Fail(f"{values.get('tool')} was not called (tools called: {', '.join(names) or 'none'})", names)
        wanted = values.get("arguments") or {}
        if isinstance(wanted, dict) and wanted:
            for call in calls:
                args = _arguments(call)
                if all(args.get(k) == v for k, v in wanted.items()):
                    return wanted, args
            raise _Fail(f"{values.get('tool')} was never called with {show(wanted)}",
                        [_arguments(c) for c in calls])
        return None, [_arguments(c) for c in calls]
    if kind == "token_budget":
        usage = (entry.get("usage") if item.node else document.get("usage")) or {}
        used = int(usage.get("total_tokens") or 0)
        if used > int(values.get("max_tokens") or 0):
            raise _Fail(f"used {used} tokens, over the budget of {values.get('max_tokens')}", used)
        return values.get("max_tokens"), used
    if kind == "time_budget":
        took = float((entry if item.node else document).get("duration_ms") or 0)
        if took > float(values.get("max_ms") or 0):
            raise _Fail(f"took {took:.0f} ms, over the budget of {values.get('max_ms')} ms", round(took))
        return values.get("max_ms"), round(took)
    # The rest look at a node's output.
    has_output = entry.get("status") == "succeeded" or (
        entry.get("status") == "skipped" and entry.get("reason") in ("pinned", "disabled"))
    if not has_output:
        status = entry.get("status") or "without running"
        reason = f" ({entry.get('reason')})" if entry.get("reason") else ""
        message = _error_line(entry)
        raise _Fail(f"the node has no output: it ended {status}{reason}" + (f": {message}" if message else ""))
    try:
        actual = at_path(entry.get("output"), item.path)
    except PathError as exc:
        raise _Fail(str(exc)) from None
    return _check_value(kind, values, actual)


def _error_line(entry: dict[str, Any]) -> str:
    """The first line of a node's error message (the rest is shown elsewhere)."""
    error = entry.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    if message and MISS_WORDS in str(message):
        return "its request is not in the cassette (see above)"
    return str(message).splitlines()[0][:CLIP] if message else ""


def _check_value(kind: str, values: dict[str, Any], actual: Any) -> tuple[Any, Any]:
    ignore_case = bool(values.get("ignore_case"))
    if kind == "equals":
        if actual != values.get("expected"):
            raise _Fail("the values differ", actual)
        return values.get("expected"), actual
    if kind == "contains":
        if not _contains(actual, values.get("expected"), ignore_case):
            raise _Fail(f"{show(values.get('expected'))} is not in it", actual)
        return values.get("expected"), actual
    if kind == "matches":
        if not isinstance(actual, str):
            raise _Fail(f"expected a text to match, got {_kind(actual)}", actual)
        if re.search(str(values.get("pattern")), actual, re.IGNORECASE if ignore_case else 0) is None:
            raise _Fail(f"it does not match /{values.get('pattern')}/", actual)
        return values.get("pattern"), actual
    if kind == "json_schema":
        import jsonschema

        errors = sorted(jsonschema.Draft202012Validator(values.get("schema") or {}).iter_errors(actual), key=str)
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(the value)"
            raise _Fail(f"it does not fit the schema at {where}: {first.message}", actual)
        return values.get("schema"), actual
    if kind == "compare":
        op = str(values.get("operator") or "==")
        expected = values.get("expected")
        a, b = (_number(actual), _number(expected)) if _number(expected) is not None else (actual, expected)
        try:
            ok = _OPERATORS[op](a, b)
        except (TypeError, KeyError):
            raise _Fail(f"cannot compare {_kind(actual)} {op} {_kind(expected)}", actual) from None
        if not ok:
            raise _Fail(f"not {show(actual)} {op} {show(expected)}", actual)
        return expected, actual
    if kind == "in_range":
        measured = len(actual) if values.get("length") and isinstance(actual, (str, list, dict)) else _number(actual)
        if measured is None:
            raise _Fail(f"expected a number, got {_kind(actual)}", actual)
        low, high = values.get("minimum"), values.get("maximum")
        if (low is not None and measured < low) or (high is not None and measured > high):
            bounds = f"[{'' if low is None else low}, {'' if high is None else high}]"
            raise _Fail(f"{measured:g} is outside {bounds}", measured)
        return {"minimum": low, "maximum": high}, measured
    raise _Fail(f"no evaluator for assertion kind {kind!r}")


async def evaluate(test: FlowTest, flow: Flow, catalog: Catalog, document: dict[str, Any],
                   judge: Judge | None = None) -> list[AssertionResult]:
    """Every assertion of `test` against a run's result document."""
    results = []
    for index, item in enumerate(test.assertions):
        kind = catalog.assertion(item.kind)
        values = {**{i.key: i.default for i in kind.inputs if i.default is not None}, **item.values}
        result = AssertionResult(index, item.kind, item.node, item.path, "passed",
                                 deterministic=kind.deterministic, note=item.note)
        try:
            if kind.id == "judged":
                await _judged(result, item, values, flow, document, judge)
            else:
                result.expected, result.actual = _check(kind.id, values, item, flow, document)
        except _Fail as fail:
            result.outcome, result.message, result.actual = "failed", str(fail), fail.actual
            result.expected = result.expected if result.expected is not None else _expected_of(kind.id, values)
        results.append(result)
    return results


def _expected_of(kind: str, values: dict[str, Any]) -> Any:
    for key in ("expected", "status", "pattern", "schema", "branch", "tool", "max_tokens", "max_ms", "criterion"):
        if key in values:
            return values[key]
    return {k: values.get(k) for k in ("minimum", "maximum")} if kind == "in_range" else None


async def _judged(result: AssertionResult, item: Assertion, values: dict[str, Any], flow: Flow,
                  document: dict[str, Any], judge: Judge | None) -> None:
    entry = (document.get("nodes") or {}).get(item.node) or {}
    try:
        value = at_path(entry.get("output"), item.path)
    except PathError as exc:
        raise _Fail(str(exc)) from None
    result.expected, result.actual = values.get("criterion"), value
    if judge is None:
        result.outcome, result.message = "skipped", "judged assertions need a model (not available here)"
        return
    passed, reason = await judge(item.model_copy(update={"values": values}), value)
    if passed is None:
        result.outcome, result.message = "skipped", reason
    elif not passed:
        raise _Fail(f"the judge says no: {reason}", value)
    else:
        result.message = reason
