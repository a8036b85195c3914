"""`studio catalog --json` is a public interface: its shape is checked here."""

import json

from studio.catalog import ValueType, load_catalog
from studio.cli import main

ACTION_KEYS = {"id", "kind", "title", "category", "description", "sources", "inputs", "outputs", "api", "endpoints",
               "deprecated"}
INPUT_KEYS = {"key", "label", "aliases", "type", "options", "required", "default", "description"}


def test_catalog_json_has_the_documented_shape(capsys):
    assert main(["catalog", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"actions", "connections", "assertions"}
    ids = [a["id"] for a in document["actions"]]
    assert len(ids) == len(set(ids)) == len(load_catalog().actions)
    for action in document["actions"]:
        assert ACTION_KEYS <= set(action), action["id"]
        assert action["kind"] in {"trigger", "action", "agent"}
        for source in action["sources"]:
            assert set(source) == {"system", "name"}
            assert source["system"] in {"prismatic", "composio", "bytechef", "n8n"}
        for item in action["inputs"]:
            assert INPUT_KEYS <= set(item), (action["id"], item)
            assert item["type"] in {t.value for t in ValueType}
            if item["type"] == "enum":
                assert item["options"] and item["default"] in [None] + [o["value"] for o in item["options"]]
    assert document["connections"][0]["id"] == "openai"


def test_plain_listing_names_every_action(capsys):
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    for action in load_catalog().actions:
        assert action.id in out


def test_actions_that_call_the_api_take_a_connection_and_triggers_do_not():
    for action in load_catalog().actions:
        keys = [i.key for i in action.inputs]
        if action.uses_connection:
            assert "connection" in keys, action.id
        if action.kind == "trigger":
            assert not action.uses_connection and "connection" not in keys, action.id
        assert len(keys) == len(set(keys)), action.id


def test_assertion_kinds_are_listed_with_their_fields(capsys):
    assert main(["catalog", "--json"]) == 0
    kinds = {k["id"]: k for k in json.loads(capsys.readouterr().out)["assertions"]}
    for wanted in ("equals", "contains", "matches", "json_schema", "compare", "in_range", "status",
                   "branch_taken", "branch_not_taken", "tool_called", "tool_not_called", "token_budget",
                   "time_budget", "judged"):
        assert wanted in kinds
    assert [o["value"] for o in next(i for i in kinds["status"]["inputs"] if i["key"] == "status")["options"]][:4] \
        == ["succeeded", "failed", "waiting", "skipped"]
    assert kinds["judged"]["deterministic"] is False and kinds["equals"]["deterministic"] is True
    for kind in kinds.values():
        for item in kind["inputs"]:
            assert INPUT_KEYS <= set(item), (kind["id"], item)
