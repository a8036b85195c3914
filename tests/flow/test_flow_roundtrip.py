"""Saving and loading loses nothing, and the text of a file is stable (no churn in diffs)."""

from __future__ import annotations

import json
import os
import stat

import pytest
from flow_testkit import CATALOG, GOOD, any_flows, valid_flows
from hypothesis import HealthCheck, given, settings

from studio.flow import FORMAT_VERSION, Flow, Node
from studio.flow.io import dump_flow, flow_from_dict, flow_to_dict, load_flow, parse_flow, save_flow
from studio.flow.validate import validate_flow

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(flow=any_flows())
def test_any_flow_round_trips_through_a_file(flow, tmp_path):
    path = tmp_path / "f.flow.json"
    save_flow(flow, path)
    loaded = load_flow(path, validate=False)
    assert loaded == flow
    text = path.read_text(encoding="utf-8")
    assert text == dump_flow(flow) == dump_flow(loaded)
    assert flow_from_dict(flow_to_dict(flow), validate=False) == flow


@SETTINGS
@given(flow=valid_flows())
def test_valid_flows_pass_the_rules_and_round_trip(flow, tmp_path):
    assert validate_flow(flow, CATALOG) == []
    path = tmp_path / "f.flow.json"
    save_flow(flow, path)
    loaded = load_flow(path, catalog=CATALOG)
    assert loaded == flow
    assert dump_flow(loaded) == path.read_text(encoding="utf-8")


def test_dump_layout():
    flow = load_flow(GOOD / "support_triage.flow.json")
    text = dump_flow(flow)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "format_version": %d,\n  "id": ' % FORMAT_VERSION)
    # every field in the models' order; `groups` only when the flow has some
    assert list(json.loads(text)) == [k for k in Flow.model_fields if k != "groups"]
    assert list(json.loads(text)["nodes"][0]) == list(Node.model_fields)
    assert "Billing goes to the agent." in text  # plain UTF-8, not \\u escapes
    assert parse_flow(text) == flow


def test_unicode_is_written_as_utf8():
    flow = Flow(name="Café ☕ 日本", nodes=[Node(id="t", action="trigger.manual", name="Start")])
    data = dump_flow(flow).encode("utf-8")
    assert "Café ☕ 日本".encode() in data
    assert parse_flow(data) == flow


def test_dump_refuses_values_json_cannot_hold():
    flow = Flow(nodes=[Node(id="t", action="trigger.manual", name="Start", values={"x": float("nan")})])
    with pytest.raises(ValueError, match="NaN or infinity"):
        dump_flow(flow)


def test_save_replaces_and_keeps_permissions(tmp_path):
    path = tmp_path / "f.flow.json"
    first = Flow(name="one")
    save_flow(first, path)
    os.chmod(path, 0o640)
    save_flow(Flow(name="two"), path)
    assert load_flow(path, validate=False).name == "two"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.flow.json"]  # no temp file left behind


def test_a_failed_save_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "f.flow.json"
    save_flow(Flow(name="old"), path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_flow(Flow(name="new"), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.flow.json"]


def test_groups_are_written_when_there_are_some(tmp_path):
    from studio.flow.io import save_flow
    from studio.flow.models import Group, Position

    flow = load_flow(GOOD / "support_triage.flow.json")
    flow.groups.append(Group(title="Triage", color="#22c55e", position=Position(x=-40, y=-60), width=500, height=300))
    path = tmp_path / "grouped.flow.json"
    save_flow(flow, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == list(Flow.model_fields)
    assert load_flow(path).groups == flow.groups
