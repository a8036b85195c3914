"""OpenAI failures through the real executor: one-node flows whose `connect` hands out pooled
clients for the fake server. What the user sees (node state, message) and what was sent."""

from __future__ import annotations

import asyncio

import pytest

from connector_testkit import fan_out_flow, final_states, one_node_flow
from studio.connectors.openai.client import ClientPool, ConnectionSettings
from studio.engine.events import NODE_FINAL_STATES
from studio.engine.executor import run_flow, start_run


@pytest.fixture
async def pool():
    opened = ClientPool()
    yield opened
    await opened.aclose()


def connector(pool, server, api_key="sk-test", **settings):
    config = ConnectionSettings(api_key=api_key, base_url=server.base_url, retry_delay_s=0.01, **settings)

    async def connect(name):
        return await pool.get(config)

    return connect


def chat(text="hello", **values):
    return {"messages": [{"role": "user", "content": text}], "stream": False, **values}


async def test_a_chat_node_succeeds_and_streams_deltas_into_run_events(fake_server, pool, tmp_path):
    result = await run_flow(one_node_flow("chat.create_completion", {"messages": "{{ trigger.q }}"}),
                            trigger_payload={"q": "from the trigger"}, connect=connector(pool, fake_server),
                            run_dir=tmp_path)
    assert result.status == "succeeded"
    assert result.output("Ask")["choices"][0]["message"]["content"] == "Echo: from the trigger"
    deltas = [e.data["text"] for e in result.events if e.type == "delta"]
    assert "".join(deltas) == "Echo: from the trigger"
    assert result.usage["total_tokens"] > 0


async def test_bad_key_fails_the_node_naming_it_and_is_not_retried(fake_server, pool, tmp_path):
    flow = one_node_flow("chat.create_completion", chat(), name="Summarize", retry=3, wait_ms=0)
    result = await run_flow(flow, connect=connector(pool, fake_server, api_key="sk-invalid"), run_dir=tmp_path)
    node = result.node("Summarize")
    assert result.status == "failed" and node.status == "failed"
    assert node.error["message"].startswith("Summarize: ") and "invalid API key" in node.error["message"]
    assert node.attempts == 1 and len(fake_server.requests) == 1
    assert "sk-invalid" not in str(result.to_json())
    # Redacted by us, or (openai >= 3.60) already left out of the request the SDK keeps with its error.
    assert node.error["details"]["request_headers"].get("authorization", "[REDACTED]") == "[REDACTED]"


async def test_429_with_retry_after_then_success(fake_server, pool, tmp_path):
    fake_server.fail_next(429, count=1, retry_after=0.05)
    result = await run_flow(one_node_flow("chat.create_completion", chat()), connect=connector(pool, fake_server),
                            run_dir=tmp_path)
    assert result.node("Ask").status == "succeeded"
    assert [r.fault for r in fake_server.requests] == ["429", None]


async def test_500_is_retried_and_a_lasting_500_fails_with_the_server_named(fake_server, pool, tmp_path):
    fake_server.fail_next(500, count=2)
    result = await run_flow(one_node_flow("chat.create_completion", chat()), connect=connector(pool, fake_server),
                            run_dir=tmp_path)
    assert result.node("Ask").status == "succeeded" and len(fake_server.requests) == 3
    fake_server.reset()
    fake_server.fail_next(500, count=100)
    result = await run_flow(one_node_flow("chat.create_completion", chat()), connect=connector(pool, fake_server),
                            run_dir=tmp_path)
    node = result.node("Ask")
    assert node.status == "failed" and "server error (500)" in node.error["message"]
    assert len(fake_server.requests) == 5  # the connection's default budget: 5 tries


async def test_latency_past_the_nodes_timeout_fails_with_a_timeout_message(fake_server, pool, tmp_path):
    fake_server.latency_ms = 3000
    result = await run_flow(one_node_flow("chat.create_completion", chat(timeout_ms=300)),
                            connect=connector(pool, fake_server), run_dir=tmp_path)
    node = result.node("Ask")
    assert node.status == "failed" and node.error["message"].startswith("Ask: ")
    assert "Timeout (ms)" in node.error["message"]


async def test_a_connection_dropped_before_the_answer_fails_the_node_saying_so(fake_server, pool, tmp_path):
    fake_server.fail_next(0, count=10)
    result = await run_flow(one_node_flow("chat.create_completion", chat(stream=True)),
                            connect=connector(pool, fake_server), run_dir=tmp_path)
    node = result.node("Ask")
    assert node.status == "failed" and "closed before the answer arrived" in node.error["message"]
    assert "cannot reach" not in node.error["message"]  # the server was reached: it hung up
    assert len(fake_server.requests) == 5


async def test_cancelling_a_run_leaves_every_node_in_a_final_state(fake_server, pool, tmp_path):
    fake_server.latency_ms = 5000
    flow = fan_out_flow("chat.create_completion", 6, lambda i: chat(f"q{i}"))
    handle = start_run(flow, connect=connector(pool, fake_server), run_dir=tmp_path, max_concurrency=4)
    for _ in range(500):
        if fake_server.in_flight >= 4:
            break
        await asyncio.sleep(0.01)
    assert fake_server.in_flight >= 4
    handle.cancel()
    result = await handle.result()
    states = final_states(result)
    assert result.status == "cancelled"
    assert all(state in NODE_FINAL_STATES for state in states.values()), states
    assert sorted(states.values()).count("cancelled") >= 4
    assert states["Start"] == "succeeded"


async def test_twenty_slow_chat_nodes_overlap(fake_server, pool, tmp_path):
    fake_server.latency_ms = 1000  # long enough that all twenty overlap even on a loaded machine
    flow = fan_out_flow("chat.create_completion", 20, lambda i: chat(f"question {i}"))
    result = await run_flow(flow, connect=connector(pool, fake_server), run_dir=tmp_path, max_concurrency=20)
    assert result.status == "succeeded"
    assert fake_server.max_in_flight == 20
    answers = {result.output(f"N{i}")["choices"][0]["message"]["content"] for i in range(1, 21)}
    assert answers == {f"Echo: question {i}" for i in range(1, 21)}
