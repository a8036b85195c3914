"""Every assertion kind passes on a run that fits it and fails, with expected, actual and the
node, on one that does not; bad test data is reported with the field it is in."""

from __future__ import annotations

import asyncio

import pytest

from studio.catalog import load_catalog
from studio.flow.cases import Assertion, FlowTest
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.testing.assertions import PathError, at_path, evaluate, problems

CATALOG = load_catalog()
FLOW = Flow(
    nodes=[Node(id="s", action="trigger.manual", name="Start"),
           Node(id="r", action="agent.classify_and_branch", name="Route"),
           Node(id="b", action="agent.run", name="Billing"),
           Node(id="g", action="agent.run", name="Bugs")],
    wires=[Wire(source=Endpoint(node="s", port="output"), target=Endpoint(node="r", port="in")),
           Wire(source=Endpoint(node="r", port="billing"), target=Endpoint(node="b", port="in")),
           Wire(source=Endpoint(node="r", port="bug"), target=Endpoint(node="g", port="in"))],
)
DOCUMENT = {
    "status": "succeeded", "duration_ms": 1200.0, "usage": {"total_tokens": 150},
    "nodes": {
        "Start": {"status": "succeeded", "output": {"text": "charged twice"}},
        "Route": {"status": "succeeded", "output": {"branch": "billing", "score": 0.8, "items": [1, 2, 3],
                                                      "reply": "Refund of 50 EUR approved"},
                  "usage": {"total_tokens": 40}, "duration_ms": 300.0},
        "Billing": {"status": "succeeded", "output": {"final_output": "Done"},
                    "steps": [{"type": "tool_call", "tool": "refund", "arguments": {"amount": 50, "currency": "EUR"}}]},
        "Bugs": {"status": "skipped", "reason": "branch_not_taken", "output": None},
    },
}


def check(kind: str, node: str = "", path: str = "", **values):
    test = FlowTest(name="t", assertions=[Assertion(kind=kind, node=node, path=path, values=values)])
    assert problems(FLOW, CATALOG, test, "tests[0]") == []
    [result] = asyncio.run(evaluate(test, FLOW, CATALOG, DOCUMENT))
    return result


@pytest.mark.parametrize(("passing", "failing"), [
    (("equals", "Route", "branch", {"expected": "billing"}), ("equals", "Route", "branch", {"expected": "bug"})),
    (("contains", "Route", "reply", {"expected": "50 EUR"}), ("contains", "Route", "reply", {"expected": "100"})),
    (("contains", "Route", "items", {"expected": 2}), ("contains", "Route", "items", {"expected": 7})),
    (("matches", "Route", "reply", {"pattern": r"\d+ EUR"}), ("matches", "Route", "reply", {"pattern": r"^\d"})),
    (("json_schema", "Route", "", {"schema": {"type": "object", "required": ["branch"]}}),
     ("json_schema", "Route", "", {"schema": {"type": "object", "required": ["missing"]}})),
    (("compare", "Route", "score", {"operator": ">=", "expected": 0.5}),
     ("compare", "Route", "score", {"operator": "<", "expected": 0.5})),
    (("in_range", "Route", "score", {"minimum": 0, "maximum": 1}), ("in_range", "Route", "score", {"minimum": 0.9})),
    (("in_range", "Route", "items", {"maximum": 3, "length": True}), ("in_range", "Route", "items", {"maximum": 2, "length": True})),
    (("status", "Bugs", "", {"status": "skipped"}), ("status", "Billing", "", {"status": "failed"})),
    (("branch_taken", "Route", "", {"branch": "billing"}), ("branch_taken", "Route", "", {"branch": "bug"})),
    (("branch_not_taken", "Route", "", {"branch": "bug"}), ("branch_not_taken", "Route", "", {"branch": "billing"})),
    (("tool_called", "Billing", "", {"tool": "refund", "arguments": {"amount": 50}}),
     ("tool_called", "Billing", "", {"tool": "refund", "arguments": {"amount": 80}})),
    (("tool_not_called", "Billing", "", {"tool": "delete"}), ("tool_not_called", "Billing", "", {"tool": "refund"})),
    (("token_budget", "", "", {"max_tokens": 200}), ("token_budget", "Route", "", {"max_tokens": 10})),
    (("time_budget", "", "", {"max_ms": 5000}), ("time_budget", "Route", "", {"max_ms": 100})),
])
def test_each_kind_passes_and_fails(passing, failing):
    kind, node, path, values = passing
    assert check(kind, node, path, **values).outcome == "passed"
    kind, node, path, values = failing
    result = check(kind, node, path, **values)
    assert result.outcome == "failed" and result.message
    assert result.node == node and result.expected is not None


def test_a_failure_shows_expected_and_actual_on_the_node():
    result = check("equals", "Route", "branch", expected="bug")
    assert (result.expected, result.actual, result.where) == ("bug", "billing", "Route.branch")
    result = check("status", "Billing", status="failed")
    assert result.actual == "succeeded" and "status is succeeded" in result.message
    assert "was called with" in check("tool_not_called", "Billing", tool="refund").message


def test_a_missing_path_names_what_is_there():
    result = check("equals", "Route", "choices[0].message", expected="x")
    assert result.outcome == "failed" and "has no key 'choices'" in result.message and "branch" in result.message
    with pytest.raises(PathError):
        at_path([1], "[5]")
    assert at_path({"a": [{"b": 2}]}, "$.a[0].b") == 2 and at_path({"a b": 1}, "['a b']") == 1


def test_a_skipped_node_has_no_output_to_check():
    result = check("equals", "Bugs", "final_output", expected="x")
    assert result.outcome == "failed" and "ended skipped (branch_not_taken)" in result.message


def test_judged_assertions_are_skipped_without_a_judge_and_use_its_verdict():
    test = FlowTest(name="t", assertions=[Assertion(kind="judged", node="Route", path="reply",
                                                    values={"criterion": "polite"})])
    [skipped] = asyncio.run(evaluate(test, FLOW, CATALOG, DOCUMENT))
    assert skipped.outcome == "skipped" and skipped.deterministic is False

    async def strict(item, value):
        return ("approved" in value), f"criterion {item.values['criterion']!r}, model {item.values['model']}"

    [judged] = asyncio.run(evaluate(test, FLOW, CATALOG, DOCUMENT, judge=strict))
    assert judged.outcome == "passed" and "gpt-4o-mini" in judged.message


def test_two_tests_may_not_share_a_cassette():
    first, second = FlowTest(name="tide pools"), FlowTest(name="tide-pools")
    flow = FLOW.model_copy(update={"tests": [first, second]})
    assert problems(flow, CATALOG, second, "tests[1]") == [
        "tests[1].name: 'tide-pools' would share its cassette with test 'tide pools'; rename one"]


def test_bad_test_data_names_the_field():
    test = FlowTest.model_validate({"name": "t", "pinned": {"Nope": 1}, "assertions": [
        {"kind": "equal", "node": "Route"},
        {"kind": "equals", "node": "Ghost", "values": {"expected": 1}},
        {"kind": "matches", "node": "Route", "values": {"pattern": "("}},
        {"kind": "status", "node": "Route", "values": {"status": "succeeded", "colour": "red"}},
        {"kind": "equals", "node": "Route", "path": "a..b", "values": {}},
    ]})
    found = problems(FLOW, CATALOG, test, "tests[0]")
    assert "tests[0].pinned.Nope: no node named 'Nope' in the flow" in found
    assert any(p.startswith("tests[0].assertions[0].kind: unknown assertion kind 'equal' (expected one of: equals") for p in found)
    assert "tests[0].assertions[1].node: no node named 'Ghost' in the flow" in found
    assert any(p.startswith("tests[0].assertions[2].values.pattern: not a regular expression") for p in found)
    assert "tests[0].assertions[3].values.colour: status has no field 'colour'" in found
    assert "tests[0].assertions[4].values.expected: required by equals (Expected)" in found
    assert any(p.startswith("tests[0].assertions[4].path: cannot read the path") for p in found)
