"""`studio import n8n` end to end (real subprocesses): the written flows validate, and the test
workflows in tests/fixtures/n8n run green with `studio run` against the fake OpenAI server (its
requests checked against OpenAI's published schema); unknown nodes import as placeholders that
fail clearly; pinData becomes pins `--use-pinned` reuses; non-n8n input exits 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "n8n"
sys.path.insert(0, str(ROOT / "tests" / "connectors"))
sys.path.insert(0, str(ROOT / "tests" / "actions"))

from connector_testkit import request_schema_errors  # noqa: E402

ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))


@pytest.fixture(scope="module")
def server():
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.connectors.openai.simulated import simulated_answer

    with FakeOpenAIServer(latency_ms=0, answerer=simulated_answer) as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    problems = request_schema_errors(server.requests)
    assert not problems, "requests that break OpenAI's published schema:\n" + "\n".join(problems)


def studio(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=cwd)


def import_fixture(name: str, folder: Path) -> tuple[Path, dict]:
    out = folder / f"{name}.flow.json"
    done = studio("import", "n8n", str(FIXTURES / f"{name}.json"), "-o", str(out), "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    return out, json.loads(done.stdout)


def run(flow: Path, fake, *inputs: str, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    args = ["run", str(flow), "--base-url", fake.base_url, "--json", *extra]
    for item in inputs:
        args += ["-i", item]
    done = studio(*args, cwd=flow.parent)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr}


@pytest.mark.parametrize("name", ALL)
def test_every_test_workflow_imports_into_a_flow_that_validates(name, tmp_path):
    out, report = import_fixture(name, tmp_path)
    assert set(report) >= {"flow", "nodes", "converted", "placeholders", "untranslated_expressions", "connections"}
    assert report["nodes"] == len(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["nodes"])
    checked = studio("validate", str(out), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_openai_v1_operations_of_every_version_run_green(fake, tmp_path):
    flow, report = import_fixture("openai-v1-operations", tmp_path)
    assert report["converted"] == report["nodes"] and report["placeholders"] == []
    assert {c["n8n_name"] for c in report["connections"]} == {"OpenAi account"}
    code, result = run(flow, fake, "name=Ann")
    assert code == 0 and result["status"] == "succeeded", result
    nodes = result["nodes"]
    assert all(n["status"] == "succeeded" for n in nodes.values())
    # `={{ $json.id }}` and `$node["Make assistant"].json.id` reached the right assistant
    made = nodes["Make assistant"]["output"]["id"]
    assert nodes["Remove assistant"]["output"] == {"id": made, "deleted": True, "object": "assistant.deleted"}
    assert nodes["Delete file"]["output"]["id"] == nodes["Upload"]["output"]["id"]
    paths = [r.api_path for r in fake.requests]
    for path in ("/chat/completions", "/moderations", "/images/generations", "/audio/speech",
                 "/audio/transcriptions", "/audio/translations", "/files", "/assistants"):
        assert path in paths
    asked = next(r.json for r in fake.requests if r.api_path == "/chat/completions")
    assert asked["messages"][-1]["content"] == "Say hello to Ann" and asked["temperature"] == 0.2


def test_openai_v2_operations_run_green(fake, tmp_path):
    flow, _ = import_fixture("openai-v2-operations", tmp_path)
    code, result = run(flow, fake, "topic=kites")
    assert code == 0 and result["status"] == "succeeded", result
    sent = next(r.json for r in fake.requests if r.api_path == "/responses")
    assert sent["instructions"] == "Answer in one line." and sent["input"] == "Tell me about kites"
    assert sent["metadata"] == {"source": "n8n"} and sent["max_output_tokens"] == 60



def test_openai_v2_conversations_image_edit_and_video_run_green(fake, tmp_path):
    flow, report = import_fixture("openai-v2-newer-operations", tmp_path)
    assert report["converted"] == report["nodes"] and report["placeholders"] == []
    code, result = run(flow, fake, "city=Lisbon")
    assert code == 0 and result["status"] == "succeeded", result
    nodes = result["nodes"]
    made = nodes["Open conversation"]["output"]["id"]
    assert nodes["Read conversation"]["output"]["id"] == made  # `={{ $json.id }}` reached the conversation
    assert nodes["Tag conversation"]["output"]["metadata"] == {"stage": "planned"}
    assert nodes["Close conversation"]["output"]["deleted"] is True
    created = next(r.json for r in fake.requests if r.api_path == "/conversations")
    assert created["metadata"] == {"source": "n8n"}
    assert [i["content"] for i in created["items"]] == ["You plan trips.", "Plan a day in Lisbon"]
    paths = [r.api_path for r in fake.requests]
    assert "/images/edits" in paths and "/videos" in paths
    assert nodes["Retouch"]["output"]["images"]  # the edited image was saved
    assert nodes["Clip"]["output"]["video"]["status"] == "completed" and nodes["Clip"]["output"]["file"]


def test_chat_agent_with_workflow_tool_memory_and_parser_runs_green(server, tmp_path):
    # The agent runtime's own request bodies are not schema-checked here (as in tests/agents).
    fake = server
    fake.reset()
    import_fixture("city-facts-tool", tmp_path)  # the flow the agent's workflow tool calls, next to it
    flow, report = import_fixture("agent-chat", tmp_path)
    assert report["placeholders"] == []
    code, result = run(flow, fake, "chatInput=Tell me about Paris", "history=[]")
    assert code == 0 and result["status"] == "succeeded", result
    answer = result["nodes"]["AI Agent"]["output"]["final_output"]
    assert set(answer) == {"answer", "sources"}  # the structured output parser's schema
    assert "Three facts about Paris" in answer["answer"]  # the tool flow ran with the agent's argument
    assert "Summarize: " in json.dumps(result["nodes"]["Summarize"]["output"])


@pytest.fixture
def api():
    """A small JSON API on loopback for the HTTP Request node; it records the headers it got."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append({k.lower(): v for k, v in self.headers.items()})
            body = json.dumps({"data": [{"id": "m1"}], "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_core_nodes_run_green(fake, api, tmp_path):
    flow, report = import_fixture("core-nodes", tmp_path)
    assert report["converted"] == report["nodes"]
    base, seen = api
    # The HTTP Request node's host is written in the flow (as n8n had it); point it at the local API.
    flow.write_text(flow.read_text(encoding="utf-8").replace("http://127.0.0.1:9", base), encoding="utf-8")
    code, result = run(flow, fake, extra=("--trust",))
    assert code == 0 and result["status"] == "succeeded", result
    nodes = result["nodes"]
    assert [i["id"] for i in nodes["Top"]["output"]] == [2, 1, 3]  # deduplicated, sorted by score
    assert nodes["Only a"]["output"] == [{"id": 2, "name": "a", "score": 9, "label": "a-high"}]
    assert [r["seen"] for r in nodes["Gather"]["output"]["rows"]] == [True, True, True]  # the loop body ran per item
    assert nodes["Fail"]["status"] == "skipped"
    assert nodes["Call API"]["output"] == {"data": [{"id": "m1"}], "path": "/v1/models"}
    assert seen and seen[0]["x-trace"] == "import-test"


def test_webhook_with_respond_node_runs_green(fake, tmp_path):
    flow, _ = import_fixture("webhook-respond", tmp_path)
    code, result = run(flow, fake, 'body={"order": "A-1"}', extra=("--trust",))
    assert code == 0 and result["status"] == "succeeded", result
    assert result["nodes"]["Shape"]["output"] == {"order": "A-1"}
    assert result["nodes"]["Respond to Webhook"]["status"] == "succeeded"
    trigger = json.loads(flow.read_text(encoding="utf-8"))["nodes"][0]
    assert trigger["values"] == {"method": "POST", "path": "/orders", "response_mode": "respond_node"}


def test_real_world_export_imports_with_placeholders_and_fails_clearly_when_run(fake, tmp_path):
    flow, report = import_fixture("real-world-telegram-bot", tmp_path)
    assert {p["type"] for p in report["placeholders"]} == {
        "n8n-nodes-base.telegramTrigger", "n8n-nodes-base.code", "n8n-nodes-base.googleSheets",
        "n8n-nodes-base.telegram", "@n8n/n8n-nodes-langchain.vectorStoreInMemory"}
    assert report["untranslated_expressions"][0]["expression"] == "Reply in {{ $json.lang || 'English' }}"
    assert {c["credential_type"] for c in report["connections"]} == {"telegramApi", "openAiApi", "googleSheetsOAuth2Api"}
    code, result = run(flow, fake)
    assert code == 1 and result["status"] == "failed"
    error = result["nodes"]["Telegram Trigger"]["error"]["message"]
    assert "n8n-nodes-base.telegramTrigger" in error and "no Flow Studio equivalent" in error


def test_pinned_outputs_are_reused_by_studio_run_use_pinned(fake, tmp_path):
    flow, report = import_fixture("openai-v2-operations", tmp_path)
    assert report["pinned"] == ["Respond"]
    code, result = run(flow, fake, "topic=kites", extra=("--use-pinned",))
    assert code == 0 and result["status"] == "succeeded", result
    assert "/responses" not in [r.api_path for r in fake.requests]  # the pinned node did not call the API
    chat = next(r.json for r in fake.requests if r.api_path == "/chat/completions")
    assert "a pinned answer" in chat["messages"][-1]["content"]


def test_pin_data_becomes_pinned_outputs_that_runs_reuse(fake, tmp_path):
    from studio.flow.io import load_flow
    from studio.history import RunHistory

    flow_path, report = import_fixture("real-world-telegram-bot", tmp_path)
    assert report["pinned"] == ["Code"]
    flow = load_flow(flow_path)
    code_id = flow.node_by_name("Code").id
    assert RunHistory().pinned_outputs(flow.id) == {code_id: {"text": "Hello from a pin"}}


@pytest.mark.parametrize("content", ['{"format_version": 1, "name": "x", "nodes": [], "wires": []}', "not json",
                                     '{"name": "no nodes"}', "[]"])
def test_input_that_is_not_an_n8n_workflow_exits_2_and_writes_nothing(content, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(content, encoding="utf-8")
    done = studio("import", "n8n", str(source), "-o", str(tmp_path / "out.flow.json"), cwd=tmp_path)
    assert done.returncode == 2
    assert "in.json" in done.stderr and not (tmp_path / "out.flow.json").exists()


def test_missing_output_option_is_a_usage_error(tmp_path):
    done = studio("import", "n8n", str(FIXTURES / "schedule.json"), cwd=tmp_path)
    assert done.returncode == 2 and "-o" in done.stderr
    assert shutil.which(sys.executable)
