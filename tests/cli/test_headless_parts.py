"""The headless runner's pieces that need no server: --input parsing, what counts as a local
server, which flows need --trust, and the shape of the result document."""

from __future__ import annotations

import pytest

from studio.engine.executor import NodeResult, RunResult
from studio.runs.connections import UsageError, is_local_url
from studio.runs.records import result_document
from studio.runs.terminal import exit_code_for, parse_inputs
from studio.flow.models import Flow, Node
from studio.flow.capabilities import needs_trust


def test_inputs_are_json_when_they_parse_and_text_otherwise():
    payload = parse_inputs(["topic=cats", "count=3", "flags=[1, 2]", "ok=true", "note=a=b", 'obj={"x": 1}'])
    assert payload == {"topic": "cats", "count": 3, "flags": [1, 2], "ok": True, "note": "a=b", "obj": {"x": 1}}


def test_dotted_input_keys_build_nested_objects():
    assert parse_inputs(["user.name=Ann", "user.age=7"]) == {"user": {"name": "Ann", "age": 7}}


@pytest.mark.parametrize("bad", ["novalue", "=x", " =1"])
def test_malformed_inputs_say_what_to_write(bad):
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_inputs([bad])


def test_dotted_key_cannot_descend_into_a_plain_value():
    with pytest.raises(UsageError, match="already holds a value"):
        parse_inputs(["a=1", "a.b=2"])


@pytest.mark.parametrize("url,local", [
    ("http://127.0.0.1:8080/v1", True),
    ("http://localhost:11434/v1", True),
    ("http://[::1]:9000", True),
    ("http://127.5.0.1", True),
    ("https://api.openai.com/v1", False),
    ("http://192.168.1.10:8000/v1", False),
    ("http://localhost.evil.com/v1", False),
])
def test_only_loopback_servers_count_as_local(url, local):
    assert is_local_url(url) is local


def test_trust_lists_local_commands_and_webhooks_but_not_disabled_nodes():
    flow = Flow(nodes=[
        Node(action="trigger.webhook", name="Hook", values={"path": "/in"}),
        Node(action="agent.add_local_mcp_server", name="Files", values={"command": "npx", "args": ["-y", "server-fs", "/tmp"]}),
        Node(action="agent.add_local_mcp_server", name="Off", values={"command": "rm"}, disabled=True),
        Node(action="chat.create_completion", name="Chat"),
    ])
    reasons = needs_trust(flow)
    assert len(reasons) == 2
    assert "Hook" in reasons[0] and "port" in reasons[0] and "/in" in reasons[0]
    assert "Files" in reasons[1] and "npx -y server-fs /tmp" in reasons[1]
    assert needs_trust(Flow(nodes=[Node(action="chat.create_completion", name="Chat")])) == []


def test_result_document_is_keyed_by_node_name_with_status_duration_output_error():
    ok = NodeResult(node_id="1", node_name="Ask", action="chat.create_completion", status="succeeded",
                    output={"x": 1}, duration_ms=12.5, usage={"total_tokens": 7})
    bad = NodeResult(node_id="2", node_name="Check", action="moderation.classify", status="failed",
                     error={"message": "Check: 401"}, duration_ms=3.0, attempts=2)
    result = RunResult(run_id="r1", flow_id="f", flow_name="Demo", status="failed", started_at=1.0,
                       finished_at=2.0, nodes={"1": ok, "2": bad}, usage={"total_tokens": 7},
                       error={"message": "Check: 401"})
    doc = result_document(result)
    assert doc["run_id"] == "r1" and doc["status"] == "failed" and doc["usage"] == {"total_tokens": 7}
    assert doc["nodes"]["Ask"] == {"status": "succeeded", "duration_ms": 12.5, "output": {"x": 1},
                                   "error": None, "usage": {"total_tokens": 7}}
    assert doc["nodes"]["Check"]["error"] == {"message": "Check: 401"}
    assert doc["nodes"]["Check"]["attempts"] == 2
    assert "pending" not in doc


def test_exit_codes_follow_the_run_status():
    assert [exit_code_for(s) for s in ("succeeded", "failed", "waiting", "cancelled")] == [0, 1, 3, 130]
