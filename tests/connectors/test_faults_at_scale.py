"""Many chat nodes against a server that fails at set (seeded) rates: every node ends in a definite
state, no node sends more than the SDK's max_retries + 1 requests, and cancelling a run with a
hundred requests in flight ends every one of them."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from connector_testkit import fan_out_flow, final_states
from studio.connectors.openai.client import ClientPool, ConnectionSettings
from studio.connectors.openai.fake_server import FaultRates
from studio.engine.events import NODE_FINAL_STATES
from studio.engine.executor import run_flow, start_run

MAX_RETRIES = 2


@pytest.fixture
async def connect(fake_server):
    pool = ClientPool()
    settings = ConnectionSettings(api_key="sk-test", base_url=fake_server.base_url, retry_delay_s=0.01,
                                  max_retries=MAX_RETRIES)

    async def opened(name):
        return await pool.get(settings)

    yield opened
    await pool.aclose()


def question(i: int) -> dict:
    return {"messages": [{"role": "user", "content": f"question {i}"}], "stream": i % 2 == 0, "timeout_ms": 3000}


async def test_two_hundred_nodes_under_random_faults_all_end_definitely(fake_server, connect, tmp_path):
    fake_server.faults = FaultRates(rate_429=0.08, rate_429_retry_after=0.07, rate_500=0.08, rate_503=0.05,
                                    rate_drop=0.05, rate_slow=0.04, slow_ms=6000, retry_after_ms=20, seed=1234)
    flow = fan_out_flow("chat.create_completion", 200, question, on_error="continue")
    result = await run_flow(flow, connect=connect, run_dir=tmp_path, max_concurrency=200)

    states = final_states(result)
    del states["Start"]
    assert len(states) == 200
    assert set(states.values()) <= {"succeeded", "failed"}
    counts = Counter(states.values())
    errors = Counter(r.error["message"].split(": ", 1)[1][:40] for r in result.nodes.values() if r.error)
    assert counts["succeeded"] > 100 and counts["failed"] > 0, (counts, errors)

    sent = Counter(r.json["messages"][0]["content"] for r in fake_server.requests_to("/chat/completions"))
    assert set(sent) == {f"question {i}" for i in range(1, 201)}
    assert max(sent.values()) <= MAX_RETRIES + 1
    faults = Counter(r.fault for r in fake_server.requests)
    assert {"429", "429ra", "500", "503", "drop", "slow"} <= set(faults)

    for i in range(1, 201):
        node = result.node(f"N{i}")
        if node.status == "succeeded":
            assert node.output["choices"][0]["message"]["content"] == f"Echo: question {i}"
        else:
            message = node.error["message"]
            assert message.startswith(f"N{i}: ")
            assert any(word in message for word in ("rate limited", "server error", "closed before the answer",
                                                     "Timeout (ms)"))


async def test_cancelling_a_run_with_a_hundred_requests_in_flight(fake_server, connect, tmp_path):
    fake_server.latency_ms = 30_000
    flow = fan_out_flow("chat.create_completion", 100, question)
    flow.nodes[1:] = [node.model_copy(update={"values": {**node.values, "timeout_ms": 60_000}})
                      for node in flow.nodes[1:]]
    handle = start_run(flow, connect=connect, run_dir=tmp_path, max_concurrency=100)
    for _ in range(1000):
        if fake_server.in_flight >= 100:
            break
        await asyncio.sleep(0.01)
    assert fake_server.in_flight == 100
    handle.cancel()
    result = await handle.result()

    states = final_states(result)
    assert result.status == "cancelled"
    assert all(state in NODE_FINAL_STATES for state in states.values())
    assert Counter(states.values())["cancelled"] == 100
    assert all(result.node(f"N{i}").reason == "run_cancelled" for i in range(1, 101))
    # the server saw every client hang up: nothing is left waiting on its side
    assert await asyncio.to_thread(fake_server.wait_idle, 10)
    assert len(fake_server.requests) == 100
