"""`studio validate` and `studio schema`, and the checked-in schema matching the models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from flow_testkit import BROKEN, GOOD, WARNED

from studio.cli import main
from studio.flow.io import load_flow
from studio.flow.schema import flow_json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "flow.schema.json"


def test_checked_in_schema_is_the_generated_one():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == flow_json_schema(), (
        "regenerate docs/flow.schema.json: python -m studio.cli schema > docs/flow.schema.json")


def test_schema_header_and_fields():
    schema = flow_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("flow.schema.json") and schema["title"] == "Flow Studio flow"
    assert set(schema["properties"]) == {"format_version", "id", "name", "description", "version", "nodes",
                                         "wires", "notes", "groups", "settings", "tests"}
    assert schema["$defs"]["Node"]["required"] == ["action", "name"]
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.flow.json")), ids=lambda p: p.name)
def test_saved_files_match_the_schema(path):
    from studio.flow.io import flow_to_dict

    jsonschema.validate(flow_to_dict(load_flow(path)), flow_json_schema())


@pytest.mark.parametrize("name", ["unknown_field.flow.json", "missing_action.flow.json", "bad_on_error.flow.json"])
def test_schema_rejects_what_the_models_reject(name):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads((BROKEN / name).read_text()), flow_json_schema())


def test_validate_exit_codes(capsys):
    good = str(GOOD / "simple.flow.json")
    assert main(["validate", good]) == 0
    assert f"{good}: ok" in capsys.readouterr().out
    bad = str(BROKEN / "unknown_action.flow.json")
    assert main(["validate", good, bad]) == 2
    captured = capsys.readouterr()
    assert f"{bad}: nodes[1].action: Summarize: unknown action 'chat.create_completions'" in captured.err
    assert f"{good}: ok" in captured.out



def test_validate_warns_of_a_stored_tests_bad_assertion_and_the_file_is_ok(capsys):
    bad = str(WARNED / "stored_test_unknown_node.flow.json")
    assert main(["validate", bad]) == 0  # it loads and runs; `studio test` fails that test
    captured = capsys.readouterr()
    assert (f"{bad}: warning: tests[0].assertions[0].node: test 'summarizes': no node named 'Summarise' in the flow"
            in captured.err)
    assert f"{bad}: ok (1 warning)" in captured.out

def test_validate_and_schema_as_commands():
    bad = str(BROKEN / "bad_json.flow.json")
    proc = subprocess.run([sys.executable, "-m", "studio.cli", "validate", bad], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert f"{bad}: line 7, column 3: broken JSON" in proc.stderr and "Traceback" not in proc.stderr
    missing = str(ROOT / "no-such.flow.json")
    proc = subprocess.run([sys.executable, "-m", "studio.cli", "validate", missing], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "cannot read the file" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "studio.cli", "schema"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == flow_json_schema()
