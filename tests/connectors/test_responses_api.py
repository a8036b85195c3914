"""Create Response with OpenAI's built-in tools, stored prompts, conversation state, reasoning and
the other options, background mode (poll with progress, cancel past the limit), and Retrieve /
Cancel Response, against the fake server (requests and answers checked against OpenAI's schema)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from connector_testkit import covers, run_action
from studio.engine.context import NodeError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def only(server, path, method="POST"):
    found = server.requests_to(path, method)
    assert len(found) == 1, f"expected one {method} {path}, got {found}"
    return found[0]


def api(server, method, path, **kw):
    return httpx.request(method, server.base_url + path, headers={"Authorization": "Bearer sk-test"}, timeout=10, **kw)


def vector_store_with(server, text: str) -> str:
    file_id = api(server, "POST", "/files", files={"file": ("notes.txt", text.encode())},
                  data={"purpose": "assistants"}).json()["id"]
    return api(server, "POST", "/vector_stores", json={"name": "notes", "file_ids": [file_id]}).json()["id"]


@covers("responses.create")
async def test_every_built_in_tool_is_sent_and_its_call_comes_back(fake_server, client, tmp_path):
    store = vector_store_with(fake_server, "The invoice total is 42 euros.")
    output, _ = await run_action("responses.create", {
        "input": "invoice total", "stream": False, "web_search": True, "web_search_context_size": "low",
        "file_search_vector_store_ids": store, "file_search_max_results": 5, "code_interpreter": True,
        "image_generation": True, "image_generation_quality": "low", "mcp_server_label": "docs",
        "mcp_server_url": "https://mcp.example.com/sse", "mcp_allowed_tools": "search_docs", "computer_use": True,
        "include": "file_search_call.results, code_interpreter_call.outputs"}, tmp_path, client)
    sent = only(fake_server, "/responses").json
    assert [t["type"] for t in sent["tools"]] == ["web_search", "file_search", "code_interpreter", "image_generation",
                                                   "mcp", "computer_use_preview"]
    assert sent["tools"][1] == {"type": "file_search", "vector_store_ids": [store], "max_num_results": 5}
    assert sent["tools"][4] == {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/sse",
                                "require_approval": "always", "allowed_tools": ["search_docs"]}
    assert sent["tools"][5]["display_width"] == 1024 and sent["tools"][5]["environment"] == "browser"
    assert sent["include"] == ["file_search_call.results", "code_interpreter_call.outputs"]
    calls = {item["type"]: item for item in output["tool_calls"]}
    assert set(calls) == {"web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call",
                          "mcp_list_tools", "mcp_approval_request", "computer_call"}
    assert calls["file_search_call"]["results"][0]["text"].startswith("The invoice total is 42")
    assert base64.b64decode(calls["image_generation_call"]["result"]).startswith(PNG_MAGIC)
    assert calls["code_interpreter_call"]["outputs"] == [{"type": "logs", "logs": "invoice total"}]
    assert output["output_text"] == "Echo: invoice total"


@covers("responses.create")
async def test_an_mcp_approval_request_is_approved_on_the_next_response(fake_server, client, tmp_path):
    tools = {"mcp_server_label": "docs", "mcp_server_url": "https://mcp.example.com/sse", "stream": False}
    first, _ = await run_action("responses.create", {"input": "find refunds", **tools}, tmp_path, client)
    request = next(i for i in first["tool_calls"] if i["type"] == "mcp_approval_request")
    second, _ = await run_action("responses.create", {
        "input": "find refunds", "previous_response_id": first["id"], "mcp_approve": request["id"], **tools},
        tmp_path, client)
    sent = fake_server.requests_to("/responses", "POST")[-1].json
    assert sent["previous_response_id"] == first["id"]
    assert sent["input"][-1] == {"type": "mcp_approval_response", "approval_request_id": request["id"],
                                 "approve": True}
    call = next(i for i in second["tool_calls"] if i["type"] == "mcp_call")
    assert call["approval_request_id"] == request["id"] and call["output"] == "find refunds"


@covers("responses.create")
async def test_reasoning_verbosity_tier_storage_and_strict_structured_output(fake_server, client, tmp_path):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}
    output, _ = await run_action("responses.create", {
        "input": "Paris please", "model": "gpt-5", "stream": False, "reasoning_effort": "high",
        "reasoning_summary": "detailed", "verbosity": "low", "service_tier": "flex", "store": False,
        "truncation": "auto", "prompt_cache_key": "faq-v1", "include": "reasoning.encrypted_content",
        "output_schema": schema, "output_schema_name": "place"}, tmp_path, client)
    sent = only(fake_server, "/responses").json
    assert sent["reasoning"] == {"effort": "high", "summary": "detailed"}
    assert sent["text"] == {"format": {"type": "json_schema", "name": "place", "schema": schema, "strict": True},
                            "verbosity": "low"}
    assert (sent["service_tier"], sent["store"], sent["truncation"], sent["prompt_cache_key"]) == \
        ("flex", False, "auto", "faq-v1")
    assert json.loads(output["output_text"]) == {"city": "Paris please"}
    reasoning = output["output"][0]
    assert reasoning["type"] == "reasoning" and reasoning["summary"][0]["type"] == "summary_text"
    assert reasoning["encrypted_content"]
    assert output["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    assert output["service_tier"] == "flex" and output["text"]["verbosity"] == "low"


@covers("responses.create")
async def test_a_stored_prompt_needs_no_input_and_sends_its_variables(fake_server, client, tmp_path):
    output, _ = await run_action("responses.create", {
        "input": "", "model": "", "prompt_id": "pmpt_123", "prompt_version": "2",
        "prompt_variables": [{"key": "customer", "value": "Ada"}], "stream": False}, tmp_path, client)
    sent = only(fake_server, "/responses").json
    assert sent["prompt"] == {"id": "pmpt_123", "version": "2", "variables": {"customer": "Ada"}}
    assert "input" not in sent and "model" not in sent
    assert output["output_text"] == "Echo: prompt pmpt_123 customer=Ada"


@covers("responses.create")
async def test_missing_input_and_prompt_or_both_conversation_kinds_are_clear_errors(fake_server, client, tmp_path):
    with pytest.raises(NodeError, match="'Input' is required"):
        await run_action("responses.create", {"input": ""}, tmp_path, client)
    with pytest.raises(NodeError, match="either 'Conversation ID' or 'Previous Response ID'"):
        await run_action("responses.create", {"input": "x", "conversation_id": "conv_1",
                                              "previous_response_id": "resp_1"}, tmp_path, client)
    with pytest.raises(NodeError, match="'Include' has unknown values"):
        await run_action("responses.create", {"input": "x", "include": "everything"}, tmp_path, client)
    assert fake_server.requests == []


@covers("responses.create")
async def test_a_turn_in_a_conversation_adds_its_items(fake_server, client, tmp_path):
    conversation = api(fake_server, "POST", "/conversations", json={}).json()["id"]
    output, _ = await run_action("responses.create", {"input": "remember 7", "conversation_id": conversation,
                                                      "stream": False}, tmp_path, client)
    assert only(fake_server, "/responses").json["conversation"] == conversation
    assert output["conversation"] == {"id": conversation}
    items = api(fake_server, "GET", f"/conversations/{conversation}/items", params={"order": "asc"}).json()["data"]
    assert [(i["type"], i["role"]) for i in items] == [("message", "user"), ("message", "assistant")]


@covers("responses.create")
async def test_streamed_hosted_tool_calls_are_shown_as_they_arrive(fake_server, client, tmp_path):
    output, events = await run_action("responses.create", {"input": "news", "web_search": True, "stream": True},
                                      tmp_path, client)
    calls = events.of("tool_call")
    assert [e["tool"] for e in calls] == ["web_search_call"]
    assert calls[0]["arguments"] == {"action": {"type": "search", "query": "news"}} and calls[0]["call_id"]
    assert "".join(e["text"] for e in events.of("delta")) == output["output_text"] == "Echo: news"


@covers("responses.create", "responses.retrieve")
async def test_background_mode_polls_with_progress_until_done(fake_server, client, tmp_path):
    output, events = await run_action("responses.create", {"input": "think long", "background": True,
                                                           "poll_interval_ms": 20}, tmp_path, client)
    assert only(fake_server, "/responses").json["background"] is True
    polls = fake_server.requests_to(f"/responses/{output['id']}", "GET")
    assert len(polls) == 2  # queued -> in_progress -> completed
    assert [e["status"] for e in events.of("progress")] == ["queued", "in_progress", "completed"]
    assert output["status"] == "completed" and output["output_text"] == "Echo: think long"
    again, _ = await run_action("responses.retrieve", {"response_id": output["id"]}, tmp_path, client)
    assert again["output_text"] == "Echo: think long" and again["id"] == output["id"]


@covers("responses.create")
async def test_background_mode_past_its_limit_cancels_the_response(fake_server, client, tmp_path):
    fake_server.latency_ms = 0
    with pytest.raises(NodeError, match="did not finish within 0.05 s") as caught:
        await run_action("responses.create", {"input": "slow", "background": True, "poll_interval_ms": 200,
                                              "max_wait_s": 0.05}, tmp_path, client, defaults=True)
    cancelled = only(fake_server, "/responses/*", "POST")
    assert cancelled.api_path.endswith("/cancel") and cancelled.answer["status"] == "cancelled"
    assert caught.value.details["last"]["status"] in ("queued", "in_progress")


@covers("responses.create")
async def test_background_mode_refuses_store_off(fake_server, client, tmp_path):
    with pytest.raises(NodeError, match="background mode needs 'Store' on"):
        await run_action("responses.create", {"input": "x", "background": True, "store": False}, tmp_path, client)


@covers("responses.cancel")
async def test_cancel_response_stops_a_background_response(fake_server, client, tmp_path):
    started = api(fake_server, "POST", "/responses", json={"model": "gpt-4.1", "input": "x", "background": True}).json()
    output, _ = await run_action("responses.cancel", {"response_id": started["id"]}, tmp_path, client)
    assert output["status"] == "cancelled"
    with pytest.raises(NodeError, match="not found"):
        await run_action("responses.retrieve", {"response_id": "resp_missing"}, tmp_path, client)
