"""`studio test` as a user runs it (a real subprocess): the bundled examples pass offline with no
key; changing a prompt, a model or a wire makes the test fail saying what changed; reports for CI
(--junit, --json), --only, exit codes; and --record re-records a cassette a replay then uses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from studio.resources import examples_dir

ROOT = Path(__file__).resolve().parents[2]
# Anything that tried the network would go through this proxy, which does not exist.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
              "NO_PROXY": ""}


def studio_test(*args: str, cwd: Path | None = None, offline: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    if offline:
        env.update(NO_NETWORK)
    return subprocess.run([sys.executable, "-m", "studio.cli", "test", *args], capture_output=True, text=True,
                          env=env, timeout=600, cwd=cwd or ROOT)


def copy_example(tmp_path: Path, slug: str) -> Path:
    shutil.copy(examples_dir() / f"{slug}.flow.json", tmp_path)
    shutil.copytree(examples_dir() / f"{slug}.cassettes", tmp_path / f"{slug}.cassettes")
    if (examples_dir() / "data").exists():
        shutil.copytree(examples_dir() / "data", tmp_path / "data", dirs_exist_ok=True)
    return tmp_path / f"{slug}.flow.json"


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data, {n["name"]: n for n in data["nodes"]})
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_every_example_passes_offline_without_a_key(tmp_path):
    report = tmp_path / "junit.xml"
    done = studio_test("resources/examples", "--junit", str(report))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    flows = sorted(examples_dir().glob("*.flow.json"))
    assert done.stdout.count("PASS ") >= len(flows) and "0 failed" in done.stdout
    cases = ET.parse(report).getroot().findall(".//testcase")
    assert {c.get("classname") for c in cases} == {json.loads(p.read_text())["name"] for p in flows}
    assert not ET.parse(report).getroot().findall(".//failure")


def test_a_changed_prompt_fails_and_says_what_changed(tmp_path):
    flow = copy_example(tmp_path, "chat-then-moderation")
    edit(flow, lambda d, n: n["Write"]["values"]["messages"][1].update(content="Write a poem about {{ trigger.topic }}."))
    done = studio_test(str(flow))
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "FAIL" in out and ":: tide pools" in out
    assert 'body.messages[1].content: recorded "Write about tide pools.", now "Write a poem about tide pools."' in out
    assert 'Write.values.messages[1].content: recorded "Write about {{ trigger.topic }}."' in out
    assert "status on Write: status is failed" in out and 'expected: "succeeded"' in out


def test_a_changed_model_fails_and_says_what_changed(tmp_path):
    flow = copy_example(tmp_path, "fan-out-fan-in")
    edit(flow, lambda d, n: n["Poem"]["values"].update(model="gpt-4.1"))
    done = studio_test(str(flow), "--json")
    assert done.returncode == 1, done.stderr
    [test] = json.loads(done.stdout)["tests"]
    assert test["status"] == "failed" and test["failing_nodes"][0] == "Poem"
    assert 'body.model: recorded "gpt-4o-mini", now "gpt-4.1"' in test["requests_not_in_cassette"][0]["message"]
    assert 'Poem.values.model: recorded "gpt-4o-mini", now "gpt-4.1"' in test["changed_since_recorded"]


def test_a_changed_wire_fails_and_says_what_changed(tmp_path):
    flow = copy_example(tmp_path, "agent-flow-tool")

    def unwire_the_tool(data, nodes):
        tool = nodes["City Facts Tool"]["id"]
        data["wires"] = [w for w in data["wires"] if w["source"]["node"] != tool]

    edit(flow, unwire_the_tool)
    done = studio_test(str(flow))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "wire City Facts Tool.tool -> Guide Agent.tools removed" in done.stdout
    assert "body.tools[0]: recorded" in done.stdout and "now (absent)" in done.stdout
    assert "tool_called on Run: city_facts was not called" in done.stdout


def test_only_json_and_usage_errors(tmp_path):
    done = studio_test("resources/examples", "--only", "list models", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [t["test"] for t in document["tests"]] == ["list models"]
    assert document["summary"] == {"passed": 1, "failed": 0, "error": 0}
    assert studio_test("resources/examples", "--only", "no such test").returncode == 2
    assert studio_test(str(tmp_path / "missing.flow.json")).returncode == 2
    broken = tmp_path / "broken.flow.json"
    broken.write_text('{"format_version": 2, "nodes": 5}', encoding="utf-8")
    done = studio_test(str(broken))
    assert done.returncode == 2 and "broken.flow.json" in done.stdout
    bad = copy_example(tmp_path, "raw-request")
    edit(bad, lambda d, n: d["tests"][0]["assertions"].append({"kind": "equal", "node": "Models"}))
    done = studio_test(str(bad))
    # A broken stored test no longer stops the file loading (the flow still runs): that test is
    # the one in error, naming its field.
    assert done.returncode == 2 and "0 passed, 0 failed, 1 errors" in done.stdout
    assert "ERROR" in done.stdout and ":: list models" in done.stdout
    assert "tests[0].assertions[3].kind: unknown assertion kind 'equal'" in done.stdout


@pytest.fixture
def simulated_server():
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.connectors.openai.simulated import simulated_answer

    with FakeOpenAIServer(latency_ms=0, answerer=simulated_answer) as server:
        yield server


def test_record_then_replay_with_a_judged_assertion(tmp_path, simulated_server):
    flow = copy_example(tmp_path, "chat-then-moderation")
    shutil.rmtree(tmp_path / "chat-then-moderation.cassettes")
    edit(flow, lambda d, n: d["tests"][0]["assertions"].append(
        {"kind": "judged", "node": "Write", "path": "choices[0].message.content",
         "values": {"criterion": "It is about tide pools."}}))
    first = studio_test(str(flow), "--json")
    assert first.returncode == 1 and "no cassette at" in first.stdout  # nothing recorded yet
    recorded = studio_test(str(flow), "--record", "--base-url", simulated_server.base_url, "--json", offline=False)
    assert recorded.returncode in (0, 1), recorded.stderr
    judged = json.loads(recorded.stdout)["tests"][0]["assertions"][-1]
    assert judged["kind"] == "judged" and judged["outcome"] in ("passed", "failed") and judged["deterministic"] is False
    cassette = tmp_path / "chat-then-moderation.cassettes" / "tide-pools.json"
    interactions = json.loads(cassette.read_text())["interactions"]
    assert len(interactions) == 3  # chat, moderation, the judgement
    simulated_server.stop()
    replayed = studio_test(str(flow), "--json")
    assert json.loads(replayed.stdout)["tests"][0]["assertions"][-1]["outcome"] == judged["outcome"]
    # Without its recorded judgement, a replay skips the judged assertion instead of failing.
    data = json.loads(cassette.read_text())
    data["interactions"] = interactions[:2]
    cassette.write_text(json.dumps(data), encoding="utf-8")
    again = studio_test(str(flow), "--json")
    test = json.loads(again.stdout)["tests"][0]
    assert test["assertions"][-1]["outcome"] == "skipped" and "not recorded" in test["assertions"][-1]["message"]
    assert test["requests_not_in_cassette"] == [] and again.returncode == 0, again.stdout
