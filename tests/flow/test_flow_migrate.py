"""Older documents open in this build; newer ones are refused with a clear message."""

from __future__ import annotations

import copy
import json

import pytest
from flow_testkit import GOOD

from studio.flow import FORMAT_VERSION, FlowLoadError, migrate
from studio.flow.io import dump_flow, load_flow, parse_flow
from studio.flow.migrate import MIGRATIONS, document_version

V0 = json.loads((GOOD / "format0.flow.json").read_text())


def test_every_older_version_has_a_step():
    assert sorted(MIGRATIONS) == list(range(FORMAT_VERSION))


def test_format0_becomes_format1_without_touching_the_input():
    before = copy.deepcopy(V0)
    out = migrate(V0)
    assert V0 == before
    assert out["format_version"] == FORMAT_VERSION and "edges" not in out and out["name"] == "Old shape"
    assert out["nodes"][1] == {"id": "b", "action": "chat.create_completion", "name": "Reply",
                               "values": {"temperature": 0.5}, "position": {"x": 200, "y": 10}}
    assert out["wires"] == [{"source": {"node": "a", "port": "output"}, "target": {"node": "b", "port": "in"}}]


def test_a_loaded_format0_file_is_saved_as_the_current_format(tmp_path):
    flow = load_flow(GOOD / "format0.flow.json")
    assert [n.name for n in flow.nodes] == ["Start", "Reply"]
    assert flow.wires[0].target.node == "b"
    text = dump_flow(flow)
    assert f'"format_version": {FORMAT_VERSION}' in text and '"edges"' not in text and '"wires"' in text
    assert parse_flow(text) == flow


def test_handles_and_unversioned_documents():
    doc = {"nodes": [], "edges": [{"source": "a", "sourceHandle": "billing", "target": "b", "targetHandle": "agent"}]}
    assert document_version(doc) == 0
    assert migrate(doc)["wires"] == [{"source": {"node": "a", "port": "billing"}, "target": {"node": "b", "port": "agent"}}]
    assert document_version({"nodes": []}) == FORMAT_VERSION
    assert migrate({"nodes": []}) == {"nodes": []}


def test_format1_gets_an_empty_test_list_and_keeps_the_rest():
    doc = {"format_version": 1, "name": "F", "nodes": [], "wires": [], "settings": {"a": 1}}
    out = migrate(doc)
    assert out == {"format_version": 2, "name": "F", "nodes": [], "wires": [], "settings": {"a": 1}, "tests": []}
    assert "tests" not in doc
    kept = migrate({**doc, "tests": [{"name": "t"}]})
    assert kept["tests"] == [{"name": "t"}]


@pytest.mark.parametrize(("version", "words"), [
    (FORMAT_VERSION + 1, f"made by a newer Flow Studio (format {FORMAT_VERSION + 1}; this build reads up to {FORMAT_VERSION})"),
    (-1, "expected a whole number from 0"),
    (True, "expected a whole number from 0"),
    (1.0, "expected a whole number from 0"),
])
def test_versions_that_cannot_be_read(version, words):
    with pytest.raises(FlowLoadError) as info:
        parse_flow(json.dumps({"format_version": version, "nodes": []}), "x.flow.json")
    assert info.value.path == "format_version"
    assert words in str(info.value) and str(info.value).startswith("x.flow.json: format_version: ")


def test_broken_format0_parts_are_named():
    with pytest.raises(FlowLoadError) as info:
        migrate({"format_version": 0, "edges": [{"source": "a", "target": "b"}, "oops"]})
    assert info.value.path == "edges[1]"
    with pytest.raises(FlowLoadError) as info:
        migrate({"format_version": 0, "nodes": [{"id": "a", "position": [1, 2, 3]}]})
    assert info.value.path == "nodes[0].position"
