"""Input resolution order and coercion to each ValueType, with messages naming the field."""

from __future__ import annotations

import pytest

from studio.catalog.models import Action, Input, Option, ValueType
from studio.engine.context import Artifact, NodeError
from studio.engine.expressions import Scope
from studio.engine.inputs import coerce, resolve_inputs


def spec(kind: ValueType, **kw) -> Input:
    return Input(key=kw.pop("key", "field"), label=kw.pop("label", "My Field"), type=kind, **kw)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (ValueType.STRING, "x", "x"),
        (ValueType.STRING, 3, "3"),
        (ValueType.TEXT, {"a": 1}, '{"a": 1}'),
        (ValueType.NUMBER, "2.5", 2.5),
        (ValueType.NUMBER, 4, 4),
        (ValueType.NUMBER, "", None),
        (ValueType.INTEGER, "12", 12),
        (ValueType.INTEGER, 3.0, 3),
        (ValueType.BOOLEAN, "yes", True),
        (ValueType.BOOLEAN, "False", False),
        (ValueType.BOOLEAN, 0, False),
        (ValueType.JSON, '{"a": [1]}', {"a": [1]}),
        (ValueType.JSON, "[not json", "[not json"),
        (ValueType.JSON, "plain", "plain"),
        (ValueType.KEY_VALUE, [{"key": "a", "value": 1}], {"a": 1}),
        (ValueType.KEY_VALUE, '{"b": 2}', {"b": 2}),
        (ValueType.STRING_LIST, "a, b\nc", ["a", "b", "c"]),
        (ValueType.STRING_LIST, '["x", 1]', ["x", "1"]),
        (ValueType.STRING_LIST, ["x", None, 2], ["x", "2"]),
        (ValueType.FILE, "/tmp/a.png", "/tmp/a.png"),
        (ValueType.FILE, Artifact(path="/r/a.png", media_type="image/png", size=3),
         {"artifact": True, "path": "/r/a.png", "media_type": "image/png", "size": 3}),
        (ValueType.MODEL, "gpt-4o-mini", "gpt-4o-mini"),
        (ValueType.STRING, None, None),
    ],
)
def test_coercion(kind, value, expected):
    assert coerce(value, spec(kind), "Node") == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (ValueType.NUMBER, "abc", "a number"),
        (ValueType.NUMBER, True, "a number"),
        (ValueType.INTEGER, 2.5, "a whole number"),
        (ValueType.BOOLEAN, "maybe", "true or false"),
        (ValueType.KEY_VALUE, "[1, 2]", "an object of key/value pairs"),
        (ValueType.STRING_LIST, {"a": 1}, "a list of text"),
    ],
)
def test_coercion_errors_name_node_field_and_expectation(kind, value, expected):
    with pytest.raises(NodeError) as info:
        coerce(value, spec(kind), "Summarize")
    assert str(info.value).startswith(f"Summarize: 'My Field' expects {expected}, got ")
    assert info.value.details["field"] == "field"
    assert info.value.retryable is False


def test_enum_accepts_value_or_label_and_rejects_others():
    field = spec(ValueType.ENUM, options=[Option(value="low", label="Low"), Option(value=2, label="Two")])
    assert coerce("low", field, "N") == "low"
    assert coerce("Two", field, "N") == 2
    assert coerce("2", field, "N") == 2
    with pytest.raises(NodeError, match="expects one of 'low', 2"):
        coerce("high", field, "N")


def test_ranges_are_checked():
    field = spec(ValueType.NUMBER, label="Temperature", minimum=0, maximum=2)
    assert coerce("1.5", field, "Chat") == 1.5
    with pytest.raises(NodeError, match="Chat: 'Temperature' must be at most 2, got 3"):
        coerce(3, field, "Chat")


def test_resolution_order_defaults_values_expressions_wires():
    action = Action(id="t.a", kind="action", title="A", category="T", inputs=[
        Input(key="model", label="Model", type=ValueType.MODEL, default="gpt-4o-mini"),
        Input(key="prompt", label="Prompt", type=ValueType.TEXT, default="{{ input.q }}"),
        Input(key="n", label="N", type=ValueType.INTEGER, default=1),
        Input(key="tools", label="Tools", type=ValueType.JSON, port=True, multiple=True),
        Input(key="agent", label="Agent", type=ValueType.JSON, port=True),
    ])
    scope = Scope(trigger={"n": "4"}, input={"q": "why?"})
    resolved = resolve_inputs("Ask", action, {"n": "{{ trigger.n }}", "tools": "{{ broken", "extra": "{{ trigger.n }}"},
                              scope, {"tools": [{"t": 1}, {"t": 2}], "agent": [{"a": 1}, {"a": 2}]})
    assert resolved == {"model": "gpt-4o-mini", "prompt": "why?", "n": 4, "tools": [{"t": 1}, {"t": 2}],
                        "agent": {"a": 1}, "extra": "4"}


def test_expression_errors_become_node_errors_naming_the_field():
    action = Action(id="t.a", kind="action", title="A", category="T",
                    inputs=[Input(key="prompt", label="Prompt", type=ValueType.TEXT)])
    with pytest.raises(NodeError) as info:
        resolve_inputs("Ask", action, {"prompt": "Hi {{ trigger.name }}"}, Scope(trigger={}), None)
    assert str(info.value).startswith("Ask: 'Prompt': key 'name' not found in trigger")
    assert info.value.details == {"field": "prompt", "expression": "trigger.name"}
