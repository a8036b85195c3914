"""Every file in tests/flow/warned loads (and so runs) although something in it is unfinished:
`flow_warnings` names the place and what is wrong (the substrings in warned/expected.json)."""

from __future__ import annotations

import json

import pytest
from flow_testkit import CATALOG, WARNED

from studio.flow.io import load_flow
from studio.flow.validate import check_flow, flow_warnings, validate_flow

EXPECTED: dict[str, list[str]] = json.loads((WARNED / "expected.json").read_text(encoding="utf-8"))


def test_every_warned_file_has_expectations_and_back():
    assert sorted(p.name for p in WARNED.iterdir() if p.name != "expected.json") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_warned_file_loads_and_its_warning_names_the_place(name):
    flow = load_flow(WARNED / name, catalog=CATALOG)
    assert validate_flow(flow, CATALOG) == []
    [warning] = flow_warnings(flow, CATALOG)
    assert warning.severity == "warning"
    assert str(warning).startswith(EXPECTED[name][0])
    for part in EXPECTED[name]:
        assert part in str(warning), f"{part!r} not in {str(warning)!r}"
    assert check_flow(flow, CATALOG) == [warning]
