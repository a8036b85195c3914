"""Edges of reading files: unreadable paths, size and nesting limits, encodings, and messages that
never echo a key."""

from __future__ import annotations

import json

import pytest
from flow_testkit import GOOD

from studio.flow import io
from studio.flow.io import FlowLoadError, flow_from_dict, json_path, load_flow, parse_flow

SIMPLE = (GOOD / "simple.flow.json").read_text(encoding="utf-8")


def test_unreadable_paths(tmp_path):
    for path, words in [(tmp_path / "missing.flow.json", "No such file"), (tmp_path, "cannot read the file"),
                        ("bad\0name.flow.json", "cannot read the file")]:
        err = pytest.raises(FlowLoadError, load_flow, path).value
        assert words in str(err) and err.file == str(path)


def test_too_big_files_are_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 100)
    err = pytest.raises(FlowLoadError, load_flow, GOOD / "simple.flow.json").value
    assert "bytes; expected a flow file under" in str(err)
    assert "bytes" in str(pytest.raises(FlowLoadError, parse_flow, SIMPLE.encode()).value)


def test_byte_order_mark_is_accepted():
    assert parse_flow(b"\xef\xbb\xbf" + SIMPLE.encode()) == parse_flow(SIMPLE)
    assert parse_flow("\ufeff" + SIMPLE) == parse_flow(SIMPLE)


def test_nesting_limit():
    doc = json.loads(SIMPLE)
    ok = deep = {}
    for _ in range(150):
        deep["a"] = {}
        deep = deep["a"]
    doc["settings"] = {"deep": ok}
    assert parse_flow(json.dumps(doc)).settings["deep"] == ok
    for _ in range(100):
        deep["a"] = {}
        deep = deep["a"]
    err = pytest.raises(FlowLoadError, parse_flow, json.dumps(doc)).value
    assert "nested more than 200 levels" in str(err) and err.path.startswith("settings.deep.a.a")


def test_unpaired_surrogates_are_named():
    doc = json.loads(SIMPLE)
    text = json.dumps(doc).replace('"Summarize a topic"', '"bad \\ud800 text"')
    err = pytest.raises(FlowLoadError, parse_flow, text, "s.flow.json").value
    assert err.path == "name" and "unpaired surrogate" in str(err)


def test_messages_never_echo_a_key():
    doc = json.loads(SIMPLE)
    doc["nodes"][1]["disabled"] = "sk-proj-VERYSECRETVALUE"
    err = pytest.raises(FlowLoadError, parse_flow, json.dumps(doc)).value
    assert err.path == "nodes[1].disabled" and "VERYSECRET" not in str(err) and "a secret, not shown" in str(err)


def test_plain_message_errors_and_odd_inputs():
    assert str(FlowLoadError("x.flow.json: cannot read the file")) == "x.flow.json: cannot read the file"
    assert "cannot read a int" in str(pytest.raises(FlowLoadError, parse_flow, 12).value)
    err = pytest.raises(FlowLoadError, flow_from_dict, ["not", "a", "dict"], "d.flow.json").value
    assert str(err) == "d.flow.json: the document is a list; expected a JSON object with format_version, nodes and wires"


def test_json_paths():
    assert json_path(("nodes", 2, "values", "temperature")) == "nodes[2].values.temperature"
    assert json_path(("settings", "a b", 0)) == 'settings["a b"][0]'
    assert json_path(()) == ""


def test_unknown_top_level_field_lists_the_allowed_ones():
    doc = json.loads(SIMPLE)
    doc["edgez"] = []
    err = pytest.raises(FlowLoadError, parse_flow, json.dumps(doc), "u.flow.json").value
    assert str(err).startswith("u.flow.json: edgez: is not a field of the flow format; expected one of: format_version, id")
