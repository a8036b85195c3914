"""The fake OpenAI server itself: auth, errors shaped like OpenAI's, queued and random faults,
scripting, recording, the command line and the shared simulated server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter

import httpx
import pytest

from connector_testkit import covered_action_ids
from studio.catalog import load_catalog
from studio.connectors.openai.actions import ACTION_HANDLERS
from studio.connectors.openai.fake_server import FakeOpenAIServer, FaultRates, tool_call


def get(server, path, key="sk-test", **kw):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.get(server.base_url + path, headers=headers, timeout=10, **kw)


def post(server, path, body, key="sk-test"):
    return httpx.post(server.base_url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_every_action_handler_has_a_test_against_the_fake_server():
    from pathlib import Path

    covered = covered_action_ids(Path(__file__).resolve().parent)
    from studio.engine.handlers import default_registry

    actions = {a.id for a in load_catalog().actions if a.kind == "action"}
    # OpenAI actions have their handlers here; the core and HTTP nodes in their own packages.
    assert actions <= set(ACTION_HANDLERS) | set(default_registry()), "catalog actions without a handler"
    missing = sorted(set(ACTION_HANDLERS) - covered)
    assert not missing, f"action handlers with no test against the fake server: {missing}"


def test_auth_refuses_missing_and_invalid_keys_without_echoing_them(fake_server):
    for key in (None, "sk-invalid"):
        response = get(fake_server, "/models", key=key)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
        assert error["message"].startswith("Incorrect API key provided")
        assert "sk-invalid" not in response.text
    fake_server.invalid_keys.add("sk-revoked-123456")
    assert get(fake_server, "/models", key="sk-revoked-123456").status_code == 401
    assert get(fake_server, "/models", key="anything-else").status_code == 200


def test_unknown_model_and_path_get_openai_shaped_404s(fake_server):
    response = get(fake_server, "/models/gpt-unknown")
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    response = get(fake_server, "/no/such/thing")
    assert response.status_code == 404 and "Invalid URL" in response.json()["error"]["message"]


def test_fail_next_queues_statuses_headers_and_paths(fake_server):
    fake_server.fail_next(429, count=2, retry_after=3, retry_after_ms=1500, path="/moderations")
    assert get(fake_server, "/models").status_code == 200  # another path is not affected
    body = {"input": "x"}
    first, second, third = (post(fake_server, "/moderations", body) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "3" and first.headers["retry-after-ms"] == "1500"
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    fake_server.fail_next(0)
    with pytest.raises(httpx.RemoteProtocolError):
        get(fake_server, "/models")
    assert [r.fault for r in fake_server.requests] == [None, "429", "429", None, "drop"]


def test_random_faults_follow_their_rates_and_seed(fake_server):
    def run(seed):
        fake_server.reset()
        fake_server.faults = FaultRates(rate_429=0.2, rate_500=0.2, rate_503=0.1, rate_slow=0.1, slow_ms=1, seed=seed)
        with httpx.Client(headers={"Authorization": "Bearer k"}, timeout=10) as http:
            return [http.get(fake_server.base_url + "/models").status_code for _ in range(200)]

    first, again, other = run(7), run(7), run(8)
    assert first == again and first != other
    counts = Counter(first)
    assert set(counts) == {200, 429, 500, 503}
    assert 20 <= counts[429] <= 60 and 20 <= counts[500] <= 60 and 5 <= counts[503] <= 35
    assert Counter(r.fault for r in fake_server.requests)["slow"] > 0


def test_scripts_answer_in_order_per_kind(fake_server):
    fake_server.script("chat", "first")
    fake_server.script("any", {"a": 1})
    message = {"model": "gpt-4o", "messages": [{"role": "user", "content": "q"}]}
    assert post(fake_server, "/chat/completions", message).json()["choices"][0]["message"]["content"] == "first"
    assert post(fake_server, "/responses", {"model": "gpt-4.1", "input": "q"}).json()["output"][0]["content"][0]["text"] == '{"a": 1}'
    fake_server.script("responses", [tool_call("a", {}), tool_call("b", '{"x": 1}')])
    output = post(fake_server, "/responses", {"model": "gpt-4.1", "input": "q"}).json()["output"]
    assert [(o["type"], o["name"], o["arguments"]) for o in output] == [("function_call", "a", "{}"),
                                                                       ("function_call", "b", '{"x": 1}')]
    assert post(fake_server, "/responses", {"model": "gpt-4.1", "input": "q"}).json()["output"][0]["content"][0]["text"] == "Echo: q"
    assert fake_server.scripted == {"responses": [], "chat": [], "any": []}


def test_streamed_chat_is_sse_ending_with_done(fake_server):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "one two"}], "stream": True,
            "stream_options": {"include_usage": True}}
    response = httpx.post(fake_server.base_url + "/chat/completions", json=body,
                          headers={"Authorization": "Bearer k"}, timeout=10)
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Echo: one two"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_recorded_requests_hide_the_key_in_repr(fake_server):
    get(fake_server, "/models", key="sk-very-secret")
    record = fake_server.requests[0]
    assert record.headers["authorization"] == "Bearer sk-very-secret"  # tests may check what was sent
    assert "sk-very-secret" not in repr(record)


def test_cli_prints_the_base_url_first_and_stops_on_sigterm():
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.Popen([sys.executable, "-m", "studio.connectors.openai.fake_server", "--port", "0",
                             "--latency-ms", "5"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", line), line
        response = httpx.get(line + "/models", headers={"Authorization": "Bearer k"}, timeout=10)
        assert response.status_code == 200 and response.json()["object"] == "list"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_simulated_connection_shares_one_server():
    from studio.connectors.openai import simulated

    try:
        url = simulated.ensure_simulated_server()
        assert simulated.ensure_simulated_server() == url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        response = httpx.get(url + "/models", headers={"Authorization": f"Bearer {simulated.SIMULATED_API_KEY}"},
                             timeout=10)
        assert response.status_code == 200
        assert simulated.simulated_server().latency_ms >= 100
    finally:
        simulated.stop_simulated_server()
    assert simulated.simulated_server() is None


def test_two_servers_run_side_by_side():
    with FakeOpenAIServer() as one, FakeOpenAIServer() as two:
        assert one.base_url != two.base_url
        get(one, "/models")
        assert len(one.requests) == 1 and two.requests == []
    assert not one.running


# --- the simulated model (the "Simulated (offline)" connection's answerer) ----------------------------

RICH_SCHEMA = {
    "type": "object",
    "$defs": {"Line": {"type": "object", "properties": {"sku": {"type": "string"},
                                                        "quantity": {"type": "integer", "minimum": 1, "maximum": 9}},
                       "required": ["sku", "quantity"], "additionalProperties": False}},
    "properties": {
        "order_id": {"type": "string"},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
        "email": {"type": "string", "format": "email"},
        "express": {"type": "boolean"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}, "minItems": 2},
        "note": {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}]},
        "city": {"type": "string"},
    },
    "required": ["order_id", "amount", "currency", "email", "express", "lines", "note", "city"],
    "additionalProperties": False,
}
ORDER_TEXT = "Please refund order 1234 from Lyon: 50 EUR, it arrived broken."


@pytest.fixture
def simulated(fake_server):
    from studio.connectors.openai.simulated import simulated_answer

    fake_server.answerer = simulated_answer
    try:
        yield fake_server
    finally:
        fake_server.answerer = None


def test_simulated_model_calls_an_offered_tool_with_arguments_from_its_schema(simulated):
    import jsonschema

    tools = [{"type": "function", "name": "get_weather", "description": "Weather of a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": False},
             {"type": "function", "name": "refund_order", "description": "Refund an order", "parameters": RICH_SCHEMA,
              "strict": True}]
    body = {"model": "gpt-4.1", "input": [{"role": "user", "content": ORDER_TEXT}], "tools": tools}
    answer = post(simulated, "/responses", body).json()
    [call] = answer["output"]
    assert call["type"] == "function_call" and call["name"] == "refund_order"  # the tool that fits the request
    arguments = json.loads(call["arguments"])
    jsonschema.validate(arguments, RICH_SCHEMA)
    assert arguments["order_id"] == "1234" and arguments["amount"] == 50 and arguments["city"] == "Lyon"
    assert len(arguments["lines"]) == 2
    # Deterministic: the same request gets the same call, id included.
    again = post(simulated, "/responses", body).json()["output"][0]
    assert (again["call_id"], again["arguments"]) == (call["call_id"], call["arguments"])
    # After the tool's result, a text answer that uses it.
    body["input"] += [{"type": "function_call", "call_id": call["call_id"], "name": call["name"],
                       "arguments": call["arguments"]},
                      {"type": "function_call_output", "call_id": call["call_id"], "output": "refund R-77 issued"}]
    [message] = post(simulated, "/responses", body).json()["output"]
    assert message["type"] == "message" and "refund R-77 issued" in message["content"][0]["text"]


def test_simulated_model_gives_numbers_without_a_clue_the_texts_numbers_in_turn(simulated):
    schema = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"},
                                               "c": {"type": "integer"}}, "required": ["a", "b", "c"]}
    tools = [{"type": "function", "name": "get-sum", "description": "Returns the sum of numbers",
              "parameters": schema, "strict": False}]
    body = {"model": "gpt-4.1", "input": [{"role": "user", "content": "What is the sum of 19 and 23?"}],
            "tools": tools}
    [call] = post(simulated, "/responses", body).json()["output"]
    # a and b as a model would read "19 and 23"; a third has no number of its own left: the last
    assert json.loads(call["arguments"]) == {"a": 19, "b": 23, "c": 23}


def test_simulated_model_speaks_chat_completions_tool_calls_too(simulated):
    import jsonschema

    tools = [{"type": "function", "function": {"name": "refund_order", "parameters": RICH_SCHEMA}}]
    body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Refund when asked."},
                                                 {"role": "user", "content": ORDER_TEXT}], "tools": tools}
    choice = post(simulated, "/chat/completions", body).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    jsonschema.validate(json.loads(call["function"]["arguments"]), RICH_SCHEMA)
    body["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                         {"role": "tool", "tool_call_id": call["id"], "content": "refund R-77 issued"}]
    choice = post(simulated, "/chat/completions", body).json()["choices"][0]
    assert choice["finish_reason"] == "stop" and "refund R-77 issued" in choice["message"]["content"]
    # tool_choice "none": no call.
    body["messages"] = body["messages"][:2]
    body["tool_choice"] = "none"
    assert "tool_calls" not in post(simulated, "/chat/completions", body).json()["choices"][0]["message"]


def test_simulated_model_streams_its_tool_calls(simulated):
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {
        "id": {"type": "integer"}}, "required": ["id"]}, "strict": False}]
    body = {"model": "gpt-4.1", "input": "look up 42", "tools": tools, "stream": True}
    with httpx.stream("POST", simulated.base_url + "/responses", json=body,
                      headers={"Authorization": "Bearer sk-test"}, timeout=10) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert done and json.loads(done[0]["arguments"]) == {"id": 42}


def test_simulated_model_structured_output_validates_and_picks_fitting_enum_values(simulated):
    import jsonschema

    branches = {"type": "object", "properties": {"branch": {"type": "string", "enum": ["billing", "bug", "sales"]},
                                                 "reason": {"type": "string"}},
                "required": ["branch", "reason"], "additionalProperties": False}
    instructions = ("Pick the branch.\n\nBranches:\n- billing: Invoices, charges, payments and refunds\n"
                    "- bug: Something in the product is broken\n- sales: Buying more seats, plans or upgrades")
    picked = {}
    for text in ("I was charged twice this month.", "The export button is broken.", "We want to buy ten more seats."):
        body = {"model": "gpt-4.1-mini", "instructions": instructions, "input": text,
                "text": {"format": {"type": "json_schema", "name": "route", "schema": branches, "strict": True}}}
        out = json.loads(post(simulated, "/responses", body).json()["output"][0]["content"][0]["text"])
        jsonschema.validate(out, branches)
        picked[text] = out["branch"]
    assert list(picked.values()) == ["billing", "bug", "sales"]
    # Chat Completions' response_format, with a richer schema.
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": ORDER_TEXT}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "order", "schema": RICH_SCHEMA}}}
    out = json.loads(post(simulated, "/chat/completions", body).json()["choices"][0]["message"]["content"])
    jsonschema.validate(out, RICH_SCHEMA)


def test_simulated_model_leaves_scripts_and_plain_chat_alone(simulated):
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}]
    simulated.script("responses", "scripted answer")
    first = post(simulated, "/responses", {"model": "m", "input": "hi", "tools": tools}).json()
    assert first["output"][0]["content"][0]["text"] == "scripted answer"  # scripts come first
    plain = post(simulated, "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert plain.json()["choices"][0]["message"]["content"] == "Echo: hi"  # no tools, no schema: the echo


def test_without_an_answerer_the_fake_server_echoes_even_when_tools_are_offered(fake_server):
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}]
    answer = post(fake_server, "/responses", {"model": "m", "input": "hi", "tools": tools}).json()
    assert answer["output"][0]["content"][0]["text"] == "Echo: hi"


def test_the_simulated_connection_answers_like_a_model():
    from studio.connectors.openai import simulated

    try:
        url = simulated.ensure_simulated_server()
        simulated.simulated_server().latency_ms = 0
        tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {
            "q": {"type": "string"}}, "required": ["q"]}, "strict": False}]
        answer = httpx.post(url + "/responses", json={"model": "m", "input": "find cats", "tools": tools},
                            headers={"Authorization": f"Bearer {simulated.SIMULATED_API_KEY}"}, timeout=10).json()
        assert answer["output"][0]["type"] == "function_call"
        assert json.loads(answer["output"][0]["arguments"]) == {"q": "find cats"}
    finally:
        simulated.stop_simulated_server()


@pytest.mark.parametrize("kept", [0, 2])
def test_a_server_that_keeps_only_its_last_requests_still_answers_every_one(kept):
    with FakeOpenAIServer(latency_ms=0, keep_requests=kept) as server:
        for i in range(5):
            response = httpx.post(server.base_url + "/chat/completions", timeout=10,
                                  headers={"Authorization": "Bearer k"},
                                  json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"n{i}"}]})
            assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == f"Echo: n{i}"
        assert [r.json["messages"][0]["content"] for r in server.requests] == ["n3", "n4"][2 - kept:]


def test_the_simulated_connections_server_keeps_a_bounded_record():
    from studio.connectors.openai import simulated

    simulated.ensure_simulated_server()
    assert simulated.simulated_server().requests.maxlen == simulated.SIMULATED_KEPT_REQUESTS
