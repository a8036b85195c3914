"""Agent: Create + Agent: Run against the fake OpenAI server: function tools, handoffs, structured
output, streaming events, history and usage."""

from __future__ import annotations

import json

from agents import function_tool

from studio.connectors.openai.fake_server import tool_call

from agent_testkit import events_of, flow, node, responses_requests, run, wire


def agent_flow(agent_values: dict, run_values: dict, *, handoffs: list[dict] | None = None):
    start = node("trigger.manual", "Start")
    agent = node("agent.create", "Agent", **agent_values)
    runner = node("agent.run", "Run", **run_values)
    nodes, wires = [start, agent, runner], [wire(start, agent), wire(agent, runner, "agent", "agent")]
    for i, values in enumerate(handoffs or []):
        extra = node("agent.create", f"Handoff{i}", **values)
        nodes.append(extra)
        wires += [wire(start, extra), wire(extra, runner, "handoff_agents", "agent")]
    return flow("agent test", nodes, wires)


def function_items(request, kind: str) -> list[dict]:
    return [i for i in request.json["input"] if isinstance(i, dict) and i.get("type") == kind]


async def test_agent_calls_a_function_tool_and_reports_each_step(server):
    calls = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"weather in {city}: 21C and sunny"

    server.script("responses", tool_call("get_weather", {"city": "Paris"}, call_id="call_w1"), "It is 21C in Paris.")
    f = agent_flow({"name": "Weather", "model": "gpt-4.1", "instructions": "Answer about weather.",
                    "tools": [{"type": "tool", "kind": "function", "name": "get_weather"}]},
                   {"user_input": "Weather in Paris?"})
    result = await run(f, server, services={"agent_function_tools": {"get_weather": get_weather}})

    assert result.status == "succeeded", result.error
    assert calls == ["Paris"]
    out = result.output("Run")
    assert out["final_output"] == "It is 21C in Paris."
    assert out["last_agent"] == "Weather"
    assert out["last_response_id"].startswith("resp_")
    assert out["usage"]["requests"] == 2 and out["usage"]["total_tokens"] > 0
    # The tool's result went back to the model in the second request.
    first, second = responses_requests(server)
    assert first.json["instructions"] == "Answer about weather."
    assert [t["name"] for t in first.json["tools"]] == ["get_weather"]
    outputs = function_items(second, "function_call_output")
    assert outputs == [{"call_id": "call_w1", "output": "weather in Paris: 21C and sunny", "type": "function_call_output"}]
    # History holds the whole exchange and can continue a conversation.
    kinds = [i.get("type", i.get("role")) for i in out["history"]]
    assert kinds[:3] == ["user", "function_call", "function_call_output"] and kinds[-1] == "message"
    # Every step is an event, in order: the call, its result, then the streamed answer.
    steps = [e.type for e in result.events if e.node_name == "Run" and e.type in {"tool_call", "tool_result", "delta"}]
    assert steps[:2] == ["tool_call", "tool_result"] and set(steps[2:]) == {"delta"}
    assert events_of(result, "tool_call", "Run")[0] == {"agent": "Weather", "call_id": "call_w1", "tool": "get_weather",
                                                       "arguments": {"city": "Paris"}}
    assert "".join(d["text"] for d in events_of(result, "delta", "Run")) == "It is 21C in Paris."
    assert result.node("Run").usage["total_tokens"] == out["usage"]["total_tokens"]


async def test_history_previous_response_and_files_reach_the_model(server):
    server.script("responses", "Second answer")
    history = [{"role": "user", "content": "first question"},
               {"role": "assistant", "content": "first answer"}]
    f = agent_flow({"name": "Chat", "model": "gpt-4.1-mini"},
                   {"user_input": "second question", "history": history, "file_ids": ["file-abc"],
                    "previous_response_id": "resp_earlier"})
    result = await run(f, server)
    assert result.status == "succeeded", result.error
    (request,) = responses_requests(server)
    assert request.json["model"] == "gpt-4.1-mini"
    assert request.json["previous_response_id"] == "resp_earlier"
    assert request.json["input"][:2] == history
    assert request.json["input"][2]["content"] == [{"type": "input_text", "text": "second question"},
                                                   {"type": "input_file", "file_id": "file-abc"}]
    assert result.output("Run")["history"][-1]["content"][0]["text"] == "Second answer"


async def test_handoff_moves_the_conversation_to_the_other_agent(server):
    server.script("responses", tool_call("transfer_to_billing", {}, call_id="call_h1"), "Your invoice is resent.")
    f = agent_flow({"name": "Triage", "instructions": "Route the customer."},
                   {"user_input": "Please resend my invoice"},
                   handoffs=[{"name": "Billing", "instructions": "You handle invoices.",
                              "handoff_description": "Questions about invoices and payments"}])
    result = await run(f, server)
    assert result.status == "succeeded", result.error
    first, second = responses_requests(server)
    handoff_tool = next(t for t in first.json["tools"] if t["name"] == "transfer_to_billing")
    assert "invoices and payments" in handoff_tool["description"]
    assert second.json["instructions"] == "You handle invoices."
    assert events_of(result, "handoff", "Run") == [{"from_agent": "Triage", "to_agent": "Billing"}]
    out = result.output("Run")
    assert out["last_agent"] == "Billing" and out["final_output"] == "Your invoice is resent."


SCHEMA = {"type": "object", "properties": {"sentiment": {"type": "string", "enum": ["positive", "negative"]},
                                           "score": {"type": "number", "minimum": 0, "maximum": 1}},
          "required": ["sentiment", "score"], "additionalProperties": False}


async def test_structured_output_is_validated_against_the_schema(server):
    server.script("responses", {"sentiment": "positive", "score": 0.9})
    f = agent_flow({"name": "Rater", "output_schema": SCHEMA, "output_schema_name": "rating",
                    "output_schema_strict": True}, {"user_input": "I love it"})
    result = await run(f, server)
    assert result.status == "succeeded", result.error
    assert result.output("Run")["final_output"] == {"sentiment": "positive", "score": 0.9}
    fmt = responses_requests(server)[0].json["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "rating" and fmt["strict"] is True
    assert fmt["schema"]["properties"]["sentiment"]["enum"] == ["positive", "negative"]


async def test_structured_output_that_breaks_the_schema_fails_the_node(server):
    server.script("responses", {"sentiment": "delighted", "score": 3})
    f = agent_flow({"name": "Rater", "output_schema": SCHEMA}, {"user_input": "I love it"})
    result = await run(f, server)
    assert result.status == "failed"
    message = result.node("Run").error["message"]
    assert "does not match the output schema" in message and "Run" in message


async def test_max_turns_stops_a_looping_agent(server):
    @function_tool
    def ping() -> str:
        """Ping."""
        return "pong"

    server.script("responses", *[tool_call("ping", {}) for _ in range(5)])
    f = agent_flow({"name": "Looper", "tools": [{"type": "tool", "kind": "function", "name": "ping"}]},
                   {"user_input": "go", "max_turns": 2})
    result = await run(f, server, services={"agent_function_tools": {"ping": ping}})
    assert result.status == "failed"
    assert "within 2 turns" in result.node("Run").error["message"]


async def test_hosted_tools_are_sent_with_every_option(server):
    server.script("responses", "done")
    start = node("trigger.manual", "Start")
    web = node("agent.create_web_search_tool", "Web", search_context_size="high", user_city="Lyon",
               user_country="FR", user_timezone="Europe/Paris")
    files = node("agent.create_file_search_tool", "Files", vector_store_ids="vs_1, vs_2", max_results=5,
                 include_search_results=False, ranking_algorithm="auto", score_threshold=0.4)
    code = node("agent.create_code_interpreter_tool", "Code", file_ids=["file-1"])
    image = node("agent.create_image_generation_tool", "Image", quality="high", size="1024x1024",
                 output_format="webp", output_compression=50, background="transparent")
    agent = node("agent.create", "Agent", name="Hosted")
    runner = node("agent.run", "Run", user_input="hi")
    tools = [web, files, code, image]
    f = flow("hosted", [start, *tools, agent, runner],
             [wire(start, t) for t in tools] + [wire(t, agent, "tools", "tool") for t in tools]
             + [wire(agent, runner, "agent", "agent")])
    result = await run(f, server)
    assert result.status == "succeeded", result.error
    sent = {t["type"]: t for t in responses_requests(server)[0].json["tools"]}
    assert sent["web_search"]["search_context_size"] == "high"
    assert sent["web_search"]["user_location"] == {"type": "approximate", "city": "Lyon", "country": "FR",
                                                   "timezone": "Europe/Paris"}
    assert sent["file_search"]["vector_store_ids"] == ["vs_1", "vs_2"]
    assert sent["file_search"]["max_num_results"] == 5
    assert sent["file_search"]["ranking_options"] == {"ranker": "auto", "score_threshold": 0.4}
    assert sent["code_interpreter"]["container"] == {"type": "auto", "file_ids": ["file-1"]}
    assert {k: sent["image_generation"][k] for k in ("quality", "size", "output_format", "output_compression",
                                                      "background", "model")} == {
        "quality": "high", "size": "1024x1024", "output_format": "webp", "output_compression": 50,
        "background": "transparent", "model": "gpt-image-1"}


async def test_agent_run_without_an_agent_configuration_is_an_input_error(server):
    start = node("trigger.manual", "Start")
    runner = node("agent.run", "Run", user_input="hi", agent={"not": "an agent"})
    result = await run(flow("bad", [start, runner], [wire(start, runner)]), server)
    assert result.status == "failed"
    assert "Agent: Create" in result.node("Run").error["message"]
    assert server.requests == []


async def test_cancelling_a_run_stops_the_agent_mid_request(server):
    import asyncio

    from studio.connectors.openai.client import ClientPool, ConnectionSettings
    from studio.engine.executor import start_run

    server.latency_ms = 5000
    pool = ClientPool()
    settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url, max_retries=0)

    async def connect(_name):
        return await pool.get(settings)

    try:
        handle = start_run(agent_flow({"name": "Slow"}, {"user_input": "hi"}), connect=connect)
        while not responses_requests(server):
            await asyncio.sleep(0.02)
        handle.cancel()
        result = await handle.result()
    finally:
        server.latency_ms = 0
        await pool.aclose()
    assert result.status == "cancelled"
    assert result.node("Run").status == "cancelled"
