"""The history writes its JSON columns with the C encoder made once (store._dump): the text is
exactly what `json.dumps(value, ensure_ascii=False, default=str)` writes, and a value that
refers to itself fails its write instead of looping."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.history.store import _dump

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@given(JSON)
def test_the_text_is_what_json_dumps_writes(value):
    assert _dump(value) == json.dumps(value, ensure_ascii=False, default=str)


def test_values_json_has_no_type_for_are_written_as_their_text():
    value = {"day": datetime.date(2026, 12, 3), "raw": b"\x00", 7: "int key", "é": "\u2028"}
    assert _dump(value) == json.dumps(value, ensure_ascii=False, default=str)
    assert json.loads(_dump(value))["day"] == "2026-12-03"


def test_a_value_that_contains_itself_fails_instead_of_looping():
    loop: list = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        _dump(loop)
