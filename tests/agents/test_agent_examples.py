"""The agent example flows in resources/examples load, and run against the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.connectors.openai.fake_server import tool_call
from studio.flow.io import load_flow
from studio.flow.capabilities import needs_trust

from agent_testkit import responses_requests, run

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
AGENT_EXAMPLES = sorted(EXAMPLES.glob("agent-*.flow.json"))
# A flow that needs a server someone starts is a documented recipe rather than a bundled example.
RECIPES = sorted((Path(__file__).resolve().parents[2] / "docs" / "recipes").glob("agent-*.flow.json"))


def test_there_is_an_example_for_each_agent_feature():
    names = {p.name for p in AGENT_EXAMPLES}
    assert {"agent-refund-with-approval.flow.json", "agent-classify-and-branch.flow.json",
            "agent-flow-tool.flow.json", "agent-tool-city-facts.flow.json", "agent-mcp-servers.flow.json",
            "agent-handoff-structured.flow.json", "agent-hosted-tools.flow.json"} <= names
    used = {n.action for p in AGENT_EXAMPLES + RECIPES for n in load_flow(p).nodes}
    from studio.connectors.openai.agents import AGENT_ACTIONS

    assert set(AGENT_ACTIONS) - {"agent.resume_run"} <= used  # Resume Run is what `studio resume` does


@pytest.mark.parametrize("path", AGENT_EXAMPLES, ids=lambda p: p.name)
def test_example_loads_and_validates(path):
    flow = load_flow(path)
    assert flow.nodes and flow.description


async def test_approval_example_waits_for_the_refund_request(server):
    server.script("responses", tool_call("approve_refund", {"reason": "broken", "amount": 50}, call_id="c1"))
    result = await run(load_flow(EXAMPLES / "agent-refund-with-approval.flow.json"), server)
    assert result.status == "waiting"
    assert result.pending[0]["requests"][0]["tool"] == "approve_refund"


async def test_classify_example_answers_on_the_billing_branch_only(server):
    server.script("responses", {"branch": "billing", "reason": "double charge"}, "We refunded the duplicate charge.")
    result = await run(load_flow(EXAMPLES / "agent-classify-and-branch.flow.json"), server)
    assert result.status == "succeeded", result.error
    assert result.output("Answer Billing")["final_output"] == "We refunded the duplicate charge."
    assert result.node("Answer Bug").reason == "branch_not_taken"
    assert result.node("Answer Sales").reason == "branch_not_taken"
    # The billing agent got the email text that was classified.
    assert "charged twice" in str(responses_requests(server)[-1].json["input"])


async def test_flow_tool_example_calls_the_city_facts_flow(server, tmp_path):
    server.script("responses", tool_call("city_facts", {"city": "Lyon"}), "Lyon: silk, food, lights.")
    result = await run(load_flow(EXAMPLES / "agent-flow-tool.flow.json"), server,
                       services={"flow_dir": str(EXAMPLES)}, run_dir=tmp_path)
    assert result.status == "succeeded", result.error
    chat = [r for r in server.requests if r.api_path == "/chat/completions"]
    assert chat[0].json["messages"][0]["content"] == "Three short facts about Lyon."


async def test_handoff_example_returns_the_billing_agents_structured_answer(server):
    answer = {"invoice": "INV-42", "action": "refund", "reply": "Refunding the duplicate."}
    server.script("responses", tool_call("transfer_to_billing", {}), answer)
    result = await run(load_flow(EXAMPLES / "agent-handoff-structured.flow.json"), server)
    assert result.status == "succeeded", result.error
    out = result.output("Run")
    assert out["last_agent"] == "Billing" and out["final_output"] == answer
    assert responses_requests(server)[-1].json["text"]["format"]["name"] == "billing_answer"


async def test_hosted_tools_example_sends_its_tools(server):
    server.script("responses", "ok")
    result = await run(load_flow(EXAMPLES / "agent-hosted-tools.flow.json"), server)
    assert result.status == "succeeded", result.error
    sent = {t["type"] for t in responses_requests(server)[0].json["tools"]}
    assert sent == {"web_search", "code_interpreter", "image_generation", "file_search"}


def test_mcp_example_asks_for_trust_for_its_npx_command():
    (reason,) = needs_trust(load_flow(EXAMPLES / "agent-mcp-servers.flow.json"))
    assert "would start a local process: npx -y @modelcontextprotocol/server-filesystem" in reason
    [recipe] = [p for p in RECIPES if p.name == "agent-mcp-remote-server.flow.json"]
    (remote,) = needs_trust(load_flow(recipe))
    assert "would connect to http://127.0.0.1:3001" in remote
