"""Save as test without the editor: a run's payload becomes a test whose cassette is recorded and
whose expectations come from that recording; files a run wrote are checked by status only."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.connectors.openai.simulated import simulated_answer
from studio.resources import examples_dir
from studio.testing.capture import record_new_test
from studio.testing.runner import load


def test_a_captured_test_replays_and_skips_run_files(tmp_path):
    # (the flow tool runs agent-tool-city-facts, found beside the flow)
    for name in ("image-then-vision.flow.json", "agent-flow-tool.flow.json", "agent-tool-city-facts.flow.json"):
        shutil.copy(examples_dir() / name, tmp_path)
    with FakeOpenAIServer(latency_ms=0, answerer=simulated_answer) as server:
        image = load(tmp_path / "image-then-vision.flow.json")
        test, outcome = asyncio.run(record_new_test(image, "owl", {"subject": "an owl"}, base_url=server.base_url))
        agent = load(tmp_path / "agent-flow-tool.flow.json")
        agent_test, agent_outcome = asyncio.run(record_new_test(
            agent, "paris", {"question": "What should I know before visiting Paris?"}, base_url=server.base_url))
    assert outcome.status == "passed" and outcome.mode == "replay", outcome.to_json()
    checks = {(a.kind, a.node) for a in test.assertions}
    assert ("status", "Paint") in checks and ("equals", "Paint") not in checks  # its image is a run file
    assert ("equals", "Describe") in checks
    cassette = json.loads(Path(outcome.cassette).read_text())
    assert [i["request"]["path"] for i in cassette["interactions"]] == ["/v1/images/generations", "/v1/chat/completions"]
    assert agent_outcome.status == "passed", agent_outcome.to_json()
    assert [a.values for a in agent_test.assertions if a.kind == "status" and a.node == "Run"] == [
        {"status": "succeeded"}]
    [final] = [a for a in agent_test.assertions if a.kind == "equals" and a.node == "Run"]
    assert "Paris" in json.dumps(final.values["expected"])
