"""The typed operators of If, Switch and Filter, including n8n's way of writing a condition."""

from __future__ import annotations

import pytest

from studio.connectors.core.conditions import ConditionError, evaluate, matches


def holds(left, operator, right=None, **options):
    return evaluate({"left": left, "operator": operator, "right": right}, ignore_case=options.get("ignore_case", False),
                    loose=options.get("loose", False), where="If")


@pytest.mark.parametrize("left, operator, right, expected", [
    ("Order #12", "string.contains", "#12", True),
    ("Order #12", "string.not_starts_with", "Order", False),
    ("abc-123", "string.regex", r"^[a-z]+-\d+$", True),
    ("", "string.empty", None, True),
    (None, "string.not_exists", None, True),
    (3, "number.lte", 3, True),
    (2.5, "number.gt", 3, False),
    (True, "boolean.true", None, True),
    ("2024-05-02T10:00:00Z", "datetime.after", "2024-05-01", True),
    ("2024-05-01T00:00:00+00:00", "datetime.equals", "2024-05-01T00:00:00Z", True),
    (None, "datetime.equals", None, True),
    ([1, 2, 3], "array.contains", 2, True),
    ([1, 2, 3], "array.length_gt", 2, True),
    ([], "array.not_empty", None, False),
    ({}, "object.empty", None, True),
])
def test_operators(left, operator, right, expected):
    assert holds(left, operator, right) is expected


def test_n8n_conditions_are_read_as_written_in_its_files():
    n8n = {"combinator": "or", "conditions": [
        {"leftValue": 5, "rightValue": 10, "operator": {"type": "number", "operation": "gte"}},
        {"leftValue": "2024-01-02", "rightValue": "2024-01-01",
         "operator": {"type": "dateTime", "operation": "afterOrEquals"}},
    ]}
    assert matches(n8n, "and", ignore_case=False, loose=False, where="If") is True
    n8n["combinator"] = "and"
    assert matches(n8n, "and", ignore_case=False, loose=False, where="If") is False


def test_bad_conditions_name_what_is_wrong():
    with pytest.raises(ConditionError, match="unknown operator string.sounds_like"):
        holds("a", "string.sounds_like", "b")
    with pytest.raises(ConditionError, match="not a valid regular expression"):
        holds("a", "string.regex", "(")
    with pytest.raises(ConditionError, match="is not a date and time"):
        holds("yesterday", "datetime.before", "2024-01-01")
    assert holds("TRUE", "boolean.true", loose=True) is True
    assert holds("Paid", "string.equals", "paid", ignore_case=True) is True
