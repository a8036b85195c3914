"""Every file in tests/flow/broken is refused with one FlowLoadError whose message names the file,
the place and what was expected (the substrings listed in broken/expected.json)."""

from __future__ import annotations

import json
import pickle

import pytest
from flow_testkit import BROKEN, CATALOG, GOOD

from studio.flow import FORMAT_VERSION
from studio.flow.io import FlowLoadError, load_flow, parse_flow

EXPECTED: dict[str, list[str]] = json.loads((BROKEN / "expected.json").read_text(encoding="utf-8"))
SECRETS = ["abc123", "FAKEFAKE", "abc-not-a-real-key"]


def test_every_broken_file_has_expectations_and_back():
    files = sorted(p.name for p in BROKEN.iterdir() if p.name != "expected.json")
    assert files == sorted(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_message(name):
    path = BROKEN / name
    with pytest.raises(FlowLoadError) as info:
        load_flow(path, catalog=CATALOG)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    for part in EXPECTED[name]:
        assert part in message, f"{part!r} not in {message!r}"
    for secret in SECRETS:
        assert secret not in message
    assert info.value.file == str(path)
    # Where it is: a JSON path that the message names, or a line and column.
    if info.value.path:
        assert f": {info.value.path}: " in message
    if info.value.line is not None:
        assert f"line {info.value.line}, column {info.value.column}" in message


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parse_from_bytes_gives_the_same_message(name):
    data = (BROKEN / name).read_bytes()
    with pytest.raises(FlowLoadError) as info:
        parse_flow(data, source="mem.flow.json", catalog=CATALOG)
    assert str(info.value).startswith("mem.flow.json: ")
    for part in EXPECTED[name][1:] if name == "bad_json.flow.json" else EXPECTED[name]:
        assert part in str(info.value)


@pytest.mark.parametrize(("name", "path", "line", "expected"), [
    ("bad_json.flow.json", None, 7, "a valid JSON document"),
    ("not_utf8.flow.json", None, 4, "a UTF-8 encoded JSON document"),
    ("unknown_action.flow.json", "nodes[1].action", None, None),
    ("newer_format.flow.json", "format_version", None, None),
    ("wrong_value_type.flow.json", "nodes[1].values.temperature", None, None),
    ("cycle.flow.json", "wires", None, "wires that never loop back to an earlier node"),
    ("bad_on_error.flow.json", "nodes[1].on_error", None, "'stop', 'continue' or 'route'"),
    ("missing_action.flow.json", "nodes[1].action", None, "a value (this field is required)"),
])
def test_error_attributes(name, path, line, expected):
    with pytest.raises(FlowLoadError) as info:
        load_flow(BROKEN / name, catalog=CATALOG)
    err = info.value
    assert err.path == path
    assert err.line == line
    assert err.expected == expected
    assert err.problems[0].path == (path or "")
    if line is not None:
        assert isinstance(err.column, int) and err.column >= 1
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err) and clone.path == err.path


def test_bad_json_points_at_the_missing_comma():
    path = BROKEN / "bad_json.flow.json"
    err = pytest.raises(FlowLoadError, load_flow, path).value
    lines = path.read_text().split("\n")
    assert lines[err.line - 2].rstrip().endswith('"version": 1')  # the line before lacks its comma


def test_all_problems_are_listed_not_only_the_first():
    doc = json.loads((GOOD / "simple.flow.json").read_text())
    doc["nodes"][1]["values"].update(temperature="hot", n="many")
    doc["nodes"][1]["action"] = "chat.create_completion"
    doc["wires"][0]["source"]["port"] = "nope"
    err = pytest.raises(FlowLoadError, parse_flow, json.dumps(doc), "x.flow.json").value
    assert [p.path for p in err.problems] == [
        "nodes[1].values.temperature", "nodes[1].values.n", "wires[0].source.port"]
    text = str(err)
    assert "2 more problems" in text and "nodes[1].values.n" in text and "wires[0].source.port" in text


def test_rule_problems_are_skipped_with_validate_false_but_shape_problems_are_not():
    flow = load_flow(BROKEN / "two_triggers.flow.json", validate=False)
    assert [n.name for n in flow.nodes] == ["Start", "Summarize", "Hook"]
    load_flow(BROKEN / "unknown_action.flow.json", validate=False)
    for name in ("bad_json.flow.json", "missing_action.flow.json", "newer_format.flow.json", "not_utf8.flow.json"):
        with pytest.raises(FlowLoadError):
            load_flow(BROKEN / name, validate=False)


@pytest.mark.parametrize("path", sorted(GOOD.iterdir()), ids=lambda p: p.name)
def test_good_files_load(path):
    flow = load_flow(path)
    assert flow.format_version == FORMAT_VERSION and flow.nodes
