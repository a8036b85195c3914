"""Catalog and graph rules on flow models: what passes, what is named, and that the rules match
what the engine accepts (expressions, coercible text, dynamic branch ports, the error port)."""

from __future__ import annotations

import pytest
from flow_testkit import CATALOG

from studio.flow import Endpoint, Flow, Node, Wire, validate_flow
from studio.flow.validate import SECRET_MESSAGE, check_flow, flow_warnings, looks_like_secret_key


def make(*nodes: Node, wires: list[tuple[str, str, str, str]] = (), **kw) -> Flow:
    start = Node(id="t", action="trigger.manual", name="Start")
    return Flow(nodes=[start, *nodes], wires=[
        Wire(source=Endpoint(node=a, port=b), target=Endpoint(node=c, port=d)) for a, b, c, d in wires], **kw)


def chat(**values) -> Node:
    return Node(id="c", action="chat.create_completion", name="Chat", values=values)


def paths(flow: Flow) -> list[str]:
    return [p.path for p in validate_flow(flow, CATALOG)]


def test_a_good_flow_has_no_problems():
    assert validate_flow(make(chat(temperature=0.5), wires=[("t", "output", "c", "in")]), CATALOG) == []


@pytest.mark.parametrize("value", ["{{ trigger.t }}", "0.7", " 1 ", 1, 2.0, "", None])
def test_values_the_engine_can_coerce_pass(value):
    assert paths(make(chat(temperature=value))) == []


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("temperature", "warm", "expects a number"),
    ("temperature", True, "expects a number"),
    ("temperature", 2.5, "at most 2"),
    ("n", 1.5, "expects a whole number"),
    ("n", 0, "at least 1"),
    ("json_output", "maybe", "expects true or false"),
    ("logit_bias", [1, 2], "key/value pairs"),
    ("stop", {"a": 1}, "a list of text"),
    ("connection", 5, "a name (text)"),
])
def test_wrong_values_are_named(key, value, expected):
    problems = validate_flow(make(chat(**{key: value})), CATALOG)
    assert len(problems) == 1
    assert problems[0].path == f"nodes[1].values.{key}"
    assert expected in problems[0].message and "Chat:" in problems[0].message


def test_enum_accepts_value_or_label_like_the_engine():
    node = Node(id="r", action="raw.request", name="Call", values={"method": "FETCH"})
    assert paths(make(node)) == ["nodes[1].values.method"]
    for ok in ("POST", "post", ""):  # the value, the label in any case, or empty (no value)
        node.values["method"] = ok
        assert paths(make(node)) == []
    node.values["method"] = "{{ trigger.method }}"
    assert paths(make(node)) == []


@pytest.mark.parametrize("values", [
    {"api_key": "x"}, {"apiKey": "x"}, {"token": "t"}, {"password": "p"},
    {"headers": {"Authorization": "Basic Zm9v"}}, {"headers": [{"key": "X-API-Key", "value": "k"}]},
    {"user": "sk-abcdef"}, {"user": "  Bearer sk-abcdef"}, {"data": {"deep": ["sk-x"]}},
])
def test_secrets_are_refused_wherever_they_hide(values):
    node = Node(id="r", action="raw.request", name="Call", values=values)
    problems = validate_flow(make(node), CATALOG)
    assert [p.message for p in problems if p.message == SECRET_MESSAGE], problems
    assert all(p.path.startswith("nodes[1].values.") for p in problems)


@pytest.mark.parametrize("values", [
    {"headers": {"Authorization": "Bearer {{ run.token }}"}}, {"headers": {"Authorization": ""}},
    {"url": "skeleton"}, {"max_retry_count": 2},
])
def test_expressions_and_ordinary_words_are_not_secrets(values):
    node = Node(id="r", action="raw.request", name="Call", values=values)
    assert paths(make(node)) == []


def test_secrets_in_settings_notes_and_descriptions():
    flow = make(settings={"conn": {"password": "p"}}, description="sk-zzz")
    assert sorted(paths(flow)) == ["description", "settings.conn.password"]


@pytest.mark.parametrize(("key", "secret"), [("api_key", True), ("X-Api-Key", True), ("Authorization", True),
                                             ("max_tokens", False), ("tokenizer", False), ("key", False)])
def test_secret_key_names(key, secret):
    assert looks_like_secret_key(key) is secret


def branches(value) -> Node:
    return Node(id="b", action="agent.classify_and_branch", name="Route", values={"branches": value, "input_text": "x"})


@pytest.mark.parametrize("value", [{"yes": "a", "no": "b"}, [{"key": "yes", "value": "a"}, {"key": "no"}],
                                   '{"yes": "a", "no": "b"}'])
def test_branch_ports_come_from_the_branches_input(value):
    ok = make(branches(value), chat(), wires=[("t", "output", "b", "in"), ("b", "yes", "c", "in"), ("b", "error", "c", "in")])
    assert paths(ok) == []
    bad = make(branches(value), chat(), wires=[("t", "output", "b", "in"), ("b", "maybe", "c", "in")])
    problems = validate_flow(bad, CATALOG)
    assert [p.path for p in problems] == ["wires[1].source.port"]
    assert "error, no, yes" in problems[0].message


def test_branch_ports_from_an_expression_are_only_known_at_run_time():
    flow = make(branches("{{ trigger.branches }}"), chat(), wires=[("t", "output", "b", "in"), ("b", "anything", "c", "in")])
    assert paths(flow) == []


def test_input_ports_accept_matching_types_only():
    agent = Node(id="a", action="agent.create", name="Helper", values={"name": "h"})
    run = Node(id="r", action="agent.run", name="Answer")
    good = make(agent, run, wires=[("a", "agent", "r", "agent"), ("a", "agent", "r", "handoff_agents")])
    assert paths(good) == []
    bad = make(agent, run, wires=[("a", "agent", "r", "user_input")])  # not a port input
    problems = validate_flow(bad, CATALOG)
    assert problems[0].path == "wires[0].target.port" and "expected one of: in, agent, handoff_agents" in problems[0].message


def test_trigger_count():
    none = Flow(nodes=[chat()])
    assert [p.message for p in validate_flow(none, CATALOG)][0].startswith("the flow has no trigger")
    two = make(Node(id="w", action="trigger.webhook", name="Hook"))
    assert "2 triggers" in validate_flow(two, CATALOG)[0].message
    # An unknown action is reported as such, never counted as (or instead of) a trigger.
    odd = make(Node(id="x", action="trigger.manul", name="Odd"))
    assert [p.path for p in validate_flow(odd, CATALOG)] == ["nodes[1].action"]
    assert "did you mean 'trigger.manual'" in validate_flow(odd, CATALOG)[0].message


def test_cycle_names_only_the_loop():
    nodes = [Node(id=x, action="chat.create_completion", name=x.upper()) for x in "abcd"]
    flow = make(*nodes, wires=[("t", "output", "a", "in"), ("a", "output", "b", "in"), ("b", "output", "c", "in"),
                               ("c", "output", "b", "in"), ("c", "output", "d", "in")])
    problems = [p for p in validate_flow(flow, CATALOG) if p.path == "wires"]
    assert len(problems) == 1
    assert "cycle through B -> C -> B;" in problems[0].message
    assert "A" not in problems[0].message.split(";")[0].replace("B -> C -> B", "")


def test_self_loop_and_duplicate_wire():
    flow = make(chat(), wires=[("t", "output", "c", "in"), ("c", "output", "c", "in"), ("t", "output", "c", "in")])
    problems = validate_flow(flow, CATALOG)
    assert [p.path for p in problems] == ["wires[2]", "wires"]
    assert "cycle through Chat -> Chat" in problems[1].message


def test_duplicate_note_ids():
    from studio.flow import Note
    flow = make(notes=[Note(id="n"), Note(id="n")])
    assert paths(flow) == ["notes[1].id"]


def test_stored_tests_are_validated_with_the_flow_naming_the_test_and_field():
    from studio.flow.cases import FlowTest

    good = FlowTest.model_validate({"name": "runs", "pinned": {"Chat": {"text": "hi"}}, "assertions": [
        {"kind": "status", "node": "Chat", "values": {"status": "succeeded"}},
        {"kind": "contains", "node": "Chat", "path": "text", "values": {"expected": "hi"}}]})
    bad = FlowTest.model_validate({"name": "typos", "trigger": "Begin", "pinned": {"Chatt": {}}, "assertions": [
        {"kind": "equal", "node": "Chat"},
        {"kind": "equals", "node": "Ghost", "values": {"expected": 1}},
        {"kind": "equals", "node": "Chat", "values": {}},
        {"kind": "equals", "values": {"expected": 1}},
        {"kind": "equals", "node": "Chat", "path": "a..b", "values": {"expected": 1, "colour": "red"}}]})
    flow = make(chat(), wires=[("t", "output", "c", "in")], tests=[good, bad])
    assert [p for p in validate_flow(flow, CATALOG) if p.path.startswith("tests")] == []  # they do not stop a run
    found = {p.path: p.message for p in flow_warnings(flow, CATALOG)}
    assert all(p.severity == "warning" for p in flow_warnings(flow, CATALOG))
    assert set(found) == {"tests[1].trigger", "tests[1].pinned.Chatt", "tests[1].assertions[0].kind",
                          "tests[1].assertions[1].node", "tests[1].assertions[2].values.expected",
                          "tests[1].assertions[3].node", "tests[1].assertions[4].path",
                          "tests[1].assertions[4].values.colour"}
    assert all(message.startswith("test 'typos': ") for message in found.values())
    assert "unknown assertion kind 'equal' (expected one of: equals" in found["tests[1].assertions[0].kind"]
    assert found["tests[1].assertions[1].node"].endswith("no node named 'Ghost' in the flow")
    assert found["tests[1].assertions[2].values.expected"].endswith("required by equals (Expected)")
    assert found["tests[1].assertions[3].node"].endswith("equals needs a node")
    assert check_flow(make(chat(), wires=[("t", "output", "c", "in")], tests=[good]), CATALOG) == []


def test_two_stored_tests_sharing_a_cassette_file_are_a_problem():
    from studio.flow.cases import FlowTest

    flow = make(chat(), wires=[("t", "output", "c", "in")],
                tests=[FlowTest(name="tide pools"), FlowTest(name="tide-pools")])
    assert [str(p) for p in flow_warnings(flow, CATALOG) if p.path.startswith("tests")] == [
        "tests[0].name: test 'tide pools': 'tide pools' would share its cassette with test 'tide-pools'; rename one",
        "tests[1].name: test 'tide-pools': 'tide-pools' would share its cassette with test 'tide pools'; rename one"]


def test_a_secret_in_a_group_title_is_refused():
    from studio.flow.models import Group

    flow = make(Node(id="r", action="raw.request", name="Call", values={}))
    flow.groups.append(Group(title="sk-abcdef123456"))
    assert [p.path for p in validate_flow(flow, CATALOG) if p.message == SECRET_MESSAGE] == ["groups[0].title"]


def test_an_empty_required_field_is_a_warning_naming_the_field_not_an_error():
    moderate = Node(id="m", action="moderation.classify", name="Check", values={"input": ""})
    flow = make(moderate, wires=[("t", "output", "m", "in")])
    assert validate_flow(flow, CATALOG) == []  # it loads and runs (the node fails, saying why)
    [warning] = flow_warnings(flow, CATALOG)
    assert warning.path == "nodes[1].values.input" and warning.severity == "warning" and not warning.is_error
    assert warning.message == "Check: 'Text Input' is required; expected a value, an expression or a wire into it"
    assert check_flow(flow, CATALOG) == [warning]


def test_a_value_an_expression_a_wire_or_disabling_the_node_clears_the_warning():
    def warned(node: Node, *wires) -> list[str]:
        return [p.path for p in flow_warnings(make(node, wires=[("t", "output", node.id, "in"), *wires]), CATALOG)]

    assert warned(Node(id="m", action="moderation.classify", name="Check")) == ["nodes[1].values.input"]
    assert warned(Node(id="m", action="moderation.classify", name="Check", values={"input": "hi"})) == []
    assert warned(Node(id="m", action="moderation.classify", name="Check", values={"input": "{{ input }}"})) == []
    assert warned(Node(id="m", action="moderation.classify", name="Check", disabled=True)) == []
    assert warned(Node(id="a", action="agent.run", name="Run")) == ["nodes[1].values.agent"]
    assert warned(Node(id="a", action="agent.run", name="Run"), ("t", "output", "a", "agent")) == []
