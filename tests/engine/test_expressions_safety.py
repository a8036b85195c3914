"""Expressions: paths, filters, templates, error messages, and that nothing reaches Python."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from studio.engine.expressions import (
    MAX_EXPRESSION_LENGTH,
    ExpressionError,
    MissingValueError,
    NodeEntry,
    Scope,
    check,
    evaluate,
    referenced_nodes,
    render,
    render_value,
)


@pytest.fixture
def scope() -> Scope:
    return Scope(
        trigger={"topic": "cats", "n": [1, 2, 3], "user": {"first name": "Ann"}, "empty": "", "none": None},
        nodes={
            "Summarize": NodeEntry("Summarize", {"status": "succeeded", "error": None,
                                                 "output": {"choices": [{"message": {"content": "Short."}}]}}),
            "Web Search": NodeEntry("Web Search", {"status": "succeeded", "error": None, "output": ["a", "b"]}),
            "Later": NodeEntry("Later", {"status": "pending", "error": None}),
        },
        input={"k": 5, "list": [{"x": 1}]},
        run={"id": "run-1"},
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.topic }}", "cats"),
        ("{{trigger.n}}", [1, 2, 3]),
        ("{{ nodes.Summarize.output.choices[0].message.content }}", "Short."),
        ('{{ nodes["Web Search"].output[-1] }}', "b"),
        ("{{ trigger.user['first name'] }}", "Ann"),
        ("{{ input.list[0].x }}", 1),
        ("{{ input.list.0.x }}", 1),
        ("{{ run.id }}", "run-1"),
        ("{{ nodes.Summarize.status }}", "succeeded"),
        ("{{ trigger.n | length }}", 3),
        ("{{ trigger.n | json }}", "[1, 2, 3]"),
        ("{{ trigger.n | join('+') }}", "1+2+3"),
        ("{{ trigger.topic | upper }}", "CATS"),
        ("{{ trigger.missing | default('none') }}", "none"),
        ("{{ trigger.empty | default('blank') }}", "blank"),
        ("{{ trigger.none | default(trigger.topic) }}", "cats"),
        ("{{ trigger.n | first }}", 1),
        ("{{ trigger.user | keys }}", ["first name"]),
        ("{{ '12' | number }}", 12),
        ("{{ true }}", True),
        ("{{ null }}", None),
        ("{{ nodes[trigger.topic] | default('no such node') }}", "no such node"),
        ("Topic: {{ trigger.topic }}, n={{ trigger.n }}, none={{ trigger.none }}!", 'Topic: cats, n=[1, 2, 3], none=!'),
        ("plain text", "plain text"),
    ],
)
def test_expressions_evaluate(scope, template, expected):
    assert render(template, scope) == expected


def test_exact_expression_keeps_the_raw_value_and_mixed_text_interpolates_json(scope):
    assert render("{{ trigger.user }}", scope) == {"first name": "Ann"}
    assert render(" {{ trigger.user }} ", scope) == ' {"first name": "Ann"} '
    assert render_value({"a": ["{{ input.k }}", {"b": "x{{ input.k }}"}], "n": 3}, scope) == {"a": [5, {"b": "x5"}], "n": 3}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ trigger.x }}", "key 'x' not found in trigger"),
        ("{{ trigger.user.age }}", "key 'age' not found in trigger.user"),
        ("{{ nodes.Later.output }}", "nodes.Later has no output yet"),
        ("{{ nodes.Nobody.output }}", "no node named 'Nobody' in this flow"),
        ("{{ trigger.n[5] }}", "index 5 out of range in trigger.n (length 3)"),
        ("{{ trigger.topic.length }}", "trigger.topic is text, so it has no 'length'"),
        ("{{ trigger.n.first }}", "trigger.n is a list; use an index like [0]"),
        ("{{ trigger.none.x }}", "trigger.none is null"),
    ],
)
def test_missing_values_name_the_path(scope, template, message):
    with pytest.raises(MissingValueError) as info:
        render(template, scope)
    assert message in str(info.value)
    assert template.strip("{} ") in str(info.value)  # the expression is quoted too


@pytest.mark.parametrize(
    "template",
    [
        "{{ __class__ }}",
        "{{ trigger.__class__.__mro__ }}",
        "{{ trigger.__class__.__mro__[1].__subclasses__() }}",
        "{{ '{0.__class__}'.format(x) }}",
        "{{ 9**9**9 }}",
        "{{ 2 * 3 }}",
        "{{ 'a' + 'b' }}",
        "{{ trigger.topic() }}",
        "{{ __import__('os').system('echo hi') }}",
        "{{ lambda: 1 }}",
        "{{ [x for x in ()] }}",
        "{{ trigger['__class__'] }}",
        "{{ trigger.n | __class__ }}",
        "{{ trigger" + "[" * 200 + "0" + "]" * 200 + " }}",
        "{{ " + "(" * 100 + "1" + ")" * 100 + " }}",
        "{{ trigger.n | default(" * 40 + "1" + ")" * 40 + " }}",
        "{{ " + "trigger." * 400 + "x }}",
        "{{ }}",
        "{{ trigger.topic",
        "{{ {{ trigger.topic }} }}",
        "{{ trigger. }}",
        "{{ trigger[ }}",
        "{{ 'unterminated }}",
        "{{ trigger.n | length(1) }}",
    ],
)
def test_escapes_and_junk_are_clean_expression_errors(scope, template):
    with pytest.raises(ExpressionError) as info:
        render(template, scope)
    assert str(info.value)  # a message, not a crash


def test_dunder_names_are_just_missing_keys(scope):
    with pytest.raises(MissingValueError, match="key '__class__' not found in trigger"):
        render("{{ trigger.__class__.__mro__ }}", scope)
    dunder_scope = Scope(trigger={"__class__": "a plain key"})
    assert render("{{ trigger.__class__ }}", dunder_scope) == "a plain key"


def test_python_objects_in_data_are_never_introspected():
    class Secret:
        token = "hidden"

    sneaky = Scope(trigger={"obj": Secret(), "text": "abc"})
    with pytest.raises(MissingValueError):
        render("{{ trigger.obj.token }}", sneaky)
    with pytest.raises(MissingValueError):
        render("{{ trigger.text.upper }}", sneaky)


def test_length_limit():
    with pytest.raises(ExpressionError, match="longer than"):
        evaluate("trigger." + "a" * MAX_EXPRESSION_LENGTH, Scope(trigger={}))


def test_nesting_limit_message(scope):
    with pytest.raises(ExpressionError, match="nested more than"):
        render("{{ " + "trigger[" * 30 + "0" + "]" * 30 + " }}", scope)
    with pytest.raises(ExpressionError, match="nested more than"):
        render("{{ " + "(" * 30 + "1" + ")" * 30 + " }}", scope)


def test_check_and_referenced_nodes_work_without_running():
    assert check("Hi {{ trigger.name }}") == []
    assert "unexpected character" in check("{{ 1 + 1 }}")[0]
    refs = referenced_nodes('{{ nodes.A.output }} {{ nodes["Web Search"].output | default(nodes.C.output) }}')
    assert refs == {"A", "Web Search", "C"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}[]().|,'\"_ abtrigerno0123456789*+-:\\")), max_size=80))
def test_arbitrary_text_never_crashes(text):
    scope = Scope(trigger={"a": [1, {"b": 2}]}, nodes={}, input=None, run={"id": "r"})
    try:
        render(text, scope)
    except ExpressionError:
        pass
