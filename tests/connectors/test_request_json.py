"""The direct path writes a request body byte for byte as the SDK's `openapi_dumps` would."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai._utils._json import openapi_dumps
from pydantic import BaseModel

from studio.connectors.openai import direct

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_body_is_written_as_the_sdk_writes_it(body):
    assert direct.body_json(body) == openapi_dumps(body)


class _Format(BaseModel):
    type: str
    strict: bool | None = None


def test_dates_models_and_non_ascii_text_as_the_sdk_writes_them():
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "héllo ✓ \u2028 \"q\""}],
            "when": datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc), "response_format": _Format(type="json_object"),
            "n": 1, "temperature": 0.7, "tuple": (1, 2)}
    written = direct.body_json(body)
    assert written == openapi_dumps(body)
    assert b'"response_format":{"type":"json_object"}' in written and "héllo ✓".encode() in written


@pytest.mark.parametrize("bad", [math.nan, math.inf, object()])
def test_what_the_sdk_refuses_is_refused_the_same_way(bad):
    body = {"temperature": bad}
    with pytest.raises((ValueError, TypeError)) as ours:
        direct.body_json(body)
    with pytest.raises((ValueError, TypeError)) as sdk:
        openapi_dumps(body)
    assert type(ours.value) is type(sdk.value) and str(ours.value) == str(sdk.value)


def test_a_body_that_contains_itself_is_refused_as_the_sdk_refuses_it():
    body: dict = {"model": "m"}
    body["again"] = body
    with pytest.raises(ValueError, match="Circular reference"):
        direct.body_json(body)
    with pytest.raises(ValueError, match="Circular reference"):
        openapi_dumps(body)
