"""Streams, timeouts and retries against the fake server's faults: a stream that stops without a
finish reason, sends a chunk that is not JSON, drops or stalls fails the node with a retryable
error saying so; timeouts say which one fired and how long it was; 408/409/429/5xx and dropped
connections are retried by the client (Retry-After honoured, within a time budget), each retry
reported as a "progress" event of the node."""

from __future__ import annotations

import json
import socket
import time

import pytest

from action_testkit import make_context
from connector_testkit import node_inputs, one_node_flow, run_action
from studio.connectors.openai.actions import ACTION_HANDLERS
from studio.connectors.openai.client import ClientPool, ConnectionSettings, OpenAIClient
from studio.connectors.openai.fake_server import FaultRates
from studio.engine.context import NodeError
from studio.engine.executor import run_flow
from studio.flow.io import load_flow
from studio.resources import examples_dir

QUESTION = "one two three four"  # the fake answers "Echo: one two three four", one word per chunk


def settings(server, **overrides) -> ConnectionSettings:
    return ConnectionSettings(api_key="sk-test", base_url=server.base_url, **{"retry_delay_s": 0.01, **overrides})


@pytest.fixture
async def opened(fake_server):
    """Real clients for the fake server, made with the settings a test needs."""
    clients = []

    async def make(**overrides) -> OpenAIClient:
        client = OpenAIClient(settings(fake_server, **overrides))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def chat(stream: bool = True, **values):
    return {"messages": [{"role": "user", "content": QUESTION}], "stream": stream, **values}


async def failure_of(action_id, values, tmp_path, client) -> NodeError:
    with pytest.raises(NodeError) as failure:
        await run_action(action_id, values, tmp_path, client, name="Ask")
    return failure.value


# --- streams ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["truncate", "malformed", "drop"])
async def test_a_broken_stream_is_tried_again_by_default_and_the_text_starts_over(fake_server, opened, tmp_path,
                                                                                   mode):
    fake_server.fail_stream_next(mode, after=3)
    output, events = await run_action("chat.create_completion", chat(), tmp_path, await opened(), name="Ask")
    assert output["choices"][0]["message"]["content"] == f"Echo: {QUESTION}"
    assert [r.fault for r in fake_server.requests] == [f"stream_{mode}", None]
    [retry] = [e for e in events.of("progress") if e.get("retry")]
    assert retry["retry"]["try"] == 2 and "try 2 of 5" in retry["message"]
    deltas = events.of("delta")
    restart = next(i for i, d in enumerate(deltas) if d.get("restart"))
    assert "".join(d["text"] for d in deltas[restart:]) == f"Echo: {QUESTION}"


async def test_a_responses_stream_cut_off_is_tried_again_by_default(fake_server, opened, tmp_path):
    fake_server.fail_stream_next("truncate", after=5)
    output, _ = await run_action("responses.create", {"input": QUESTION, "stream": True}, tmp_path, await opened(),
                                 name="Ask")
    assert len(fake_server.requests_to("/responses", "POST")) == 2
    assert f"Echo: {QUESTION}" in json.dumps(output)


async def test_a_stream_broken_on_every_try_fails_after_the_connections_tries(fake_server, opened, tmp_path):
    fake_server.fail_stream_next("truncate", after=3, count=3)
    error = await failure_of("chat.create_completion", chat(), tmp_path, await opened(max_retries=2))
    assert "cut off after 10 characters" in str(error) and error.retryable is True
    assert [r.fault for r in fake_server.requests] == ["stream_truncate"] * 3


async def test_a_chat_stream_ending_without_a_finish_reason_is_a_retryable_cut_off(fake_server, opened, tmp_path):
    fake_server.fail_stream_next("truncate", after=3)  # the role chunk, "Echo: ", "one ", then [DONE]
    error = await failure_of("chat.create_completion", chat(), tmp_path, await opened(max_retries=0))
    assert str(error).startswith("Ask: the stream was cut off after 10 characters")
    assert error.retryable is True and error.details["characters"] == 10
    assert [r.fault for r in fake_server.requests] == ["stream_truncate"]


async def test_a_responses_stream_without_its_completed_event_is_a_retryable_cut_off(fake_server, opened, tmp_path):
    fake_server.fail_stream_next("truncate", after=5)  # created, in_progress, item added, part added, "Echo: "
    error = await failure_of("responses.create", {"input": QUESTION, "stream": True}, tmp_path, await opened(max_retries=0))
    assert "the stream was cut off after 6 characters" in str(error) and error.retryable is True


async def test_a_malformed_chunk_is_a_retryable_error_saying_so(fake_server, opened, tmp_path):
    fake_server.fail_stream_next("malformed", after=2)
    error = await failure_of("chat.create_completion", chat(), tmp_path, await opened(max_retries=0))
    assert "malformed stream chunk after 6 characters" in str(error) and error.retryable is True


async def test_a_connection_dropped_mid_stream_says_so(fake_server, opened, tmp_path):
    fake_server.fail_stream_next("drop", after=3)
    error = await failure_of("chat.create_completion", chat(), tmp_path, await opened(max_retries=0))
    assert "dropped mid-stream after 10 characters" in str(error), str(error)
    assert "cannot reach" not in str(error) and error.retryable is True


async def test_a_stream_idle_past_its_limit_times_out_naming_the_limit(fake_server, opened, tmp_path):
    fake_server.fail_stream_next("stall", after=2, pause_ms=3000)
    client = await opened(stream_idle_timeout_s=0.3, max_retries=0)
    started = time.monotonic()
    error = await failure_of("chat.create_completion", chat(), tmp_path, client)
    assert time.monotonic() - started < 2.5
    assert "stream idle timeout: no data for 300 ms after 6 characters" in str(error), str(error)
    assert error.retryable is True


async def test_a_stream_slower_than_the_idle_limit_in_total_still_succeeds(fake_server, opened, tmp_path):
    """The idle limit is between chunks, not for the whole stream."""
    fake_server.stream_chunk_delay_ms = 150  # five pieces: 750 ms in all, more than the limit
    try:
        output, events = await run_action("chat.create_completion", chat(), tmp_path,
                                          await opened(stream_idle_timeout_s=0.4), name="Ask")
    finally:
        fake_server.stream_chunk_delay_ms = 0
    assert output["choices"][0]["message"]["content"] == f"Echo: {QUESTION}"
    assert output["choices"][0]["finish_reason"] == "stop"


async def test_the_node_retry_policy_recovers_from_a_cut_off_stream(fake_server, tmp_path):
    fake_server.fail_stream_next("truncate", after=3)
    pool = ClientPool()
    config = settings(fake_server, max_retries=0)  # the node's own retry policy, not the connection's

    async def connect(name):
        return await pool.get(config)

    try:
        result = await run_flow(one_node_flow("chat.create_completion", chat(), retry=2), connect=connect,
                                run_dir=tmp_path)
    finally:
        await pool.aclose()
    node = result.node("Ask")
    assert node.status == "succeeded" and node.attempts == 2
    assert node.output["choices"][0]["message"]["content"] == f"Echo: {QUESTION}"
    retrying = [e for e in result.events if e.type == "node_retrying"]
    assert len(retrying) == 1 and "cut off after 10 characters" in retrying[0].data["error"]["message"]


# --- timeouts ------------------------------------------------------------------------------------


async def test_a_slow_answer_past_the_read_timeout_names_the_timeout_and_its_length(fake_server, opened, tmp_path):
    fake_server.latency_ms = 3000
    started = time.monotonic()
    error = await failure_of("chat.create_completion", chat(stream=False), tmp_path,
                             await opened(read_timeout_s=0.3, max_retries=0))
    assert time.monotonic() - started < 2.5
    assert "read timeout: no answer within 300 ms" in str(error) and error.retryable is True


@pytest.fixture
def unanswered_port():
    """A port whose listener never accepts and whose queue is full: connecting to it hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for sock in (*fillers, listener):
        sock.close()


async def test_a_connect_timeout_is_retried_then_named_with_its_length(unanswered_port, tmp_path):
    config = ConnectionSettings(api_key="sk-test", base_url=f"http://127.0.0.1:{unanswered_port}/v1",
                                connect_timeout_s=0.3, max_retries=1, retry_delay_s=0.01)
    async with OpenAIClient(config) as client:

        async def connect(name):
            return client

        ctx, events = make_context("chat.create_completion", node_inputs("chat.create_completion", chat(stream=False)),
                                   tmp_path, connect=connect, name="Ask")
        started = time.monotonic()
        with pytest.raises(NodeError) as failure:
            await ACTION_HANDLERS["chat.create_completion"](ctx)
    assert time.monotonic() - started < 3
    assert str(failure.value) == ("Ask: connect timeout: no connection within 300 ms; raise the node's "
                                  "Timeout (ms) or try again later")
    assert failure.value.retryable is True
    [progress] = events.of("progress")
    assert progress["message"].startswith("connect timeout (300 ms); retrying in 0.0 s (try 2 of 2)")


async def test_defaults_follow_the_sdk_and_the_catalog_leaves_them_alone(fake_server, opened):
    client = await opened()
    assert client.sdk.timeout.connect == 5 and client.sdk.timeout.read == 600
    assert client.settings.stream_idle_timeout_s == 60
    from studio.catalog import load_catalog

    assert load_catalog().get("chat.create_completion").input("timeout_ms").default == 0  # no overall limit


# --- retries -------------------------------------------------------------------------------------


async def test_a_429_with_retry_after_is_waited_for_and_reported(fake_server, opened, tmp_path):
    fake_server.fail_next(429, count=1, retry_after=0.4)
    started = time.monotonic()
    output, events = await run_action("chat.create_completion", chat(stream=False), tmp_path, await opened(),
                                      name="Ask")
    assert time.monotonic() - started >= 0.4  # not the 10 ms backoff step: the server's wait
    assert output["choices"][0]["message"]["content"] == f"Echo: {QUESTION}"
    assert [r.fault for r in fake_server.requests] == ["429", None]
    [progress] = events.of("progress")
    assert progress["message"] == "rate limited (429); retrying in 0.4 s (try 2 of 5)"


async def test_retry_after_ms_wins_and_a_stream_request_is_retried_too(fake_server, opened, tmp_path):
    fake_server.fail_next(503, count=1, retry_after=30, retry_after_ms=50)
    started = time.monotonic()
    output, events = await run_action("chat.create_completion", chat(), tmp_path, await opened(), name="Ask")
    assert time.monotonic() - started < 5
    assert output["choices"][0]["message"]["content"] == f"Echo: {QUESTION}"
    assert events.of("progress")[0]["message"].startswith("server error (503); retrying in 0.1 s (try 2 of 5)")


async def test_retries_stop_at_the_time_budget(fake_server, opened, tmp_path):
    fake_server.fail_next(429, count=100, retry_after=0.4)
    error = await failure_of("chat.create_completion", chat(stream=False), tmp_path,
                             await opened(max_retries=10, retry_budget_s=1.0))
    # tries at 0, 0.4 and 0.8 s; a fourth would start after the 1 s budget
    assert len(fake_server.requests) == 3 and "rate limited (429)" in str(error)


async def test_a_dropped_connection_is_retried_and_requests_that_cannot_pass_are_not(fake_server, opened, tmp_path):
    client = await opened()
    fake_server.fail_next(0, count=2)
    output, events = await run_action("chat.create_completion", chat(stream=False), tmp_path, client, name="Ask")
    assert [r.fault for r in fake_server.requests] == ["drop", "drop", None]
    reasons = [e["message"].split(";")[0] for e in events.of("progress")]
    assert reasons == ["connection failed (RemoteProtocolError)"] * 2
    fake_server.reset()
    fake_server.fail_next(400, count=5)
    error = await failure_of("chat.create_completion", chat(stream=False), tmp_path, client)
    assert len(fake_server.requests) == 1 and error.retryable is False
    fake_server.reset()
    fake_server.fail_next(429, count=5, retry_after=3600)  # longer than any call should wait
    await failure_of("chat.create_completion", chat(stream=False), tmp_path, client)
    assert len(fake_server.requests) == 1


async def test_the_fan_out_example_runs_green_under_429s_and_500s(fake_server, tmp_path):
    # Seed 12 draws: three successes (the three parallel branches, whatever their order), then
    # 429, 429, 500, 429 and a success: all for Combine, which runs alone once the branches are
    # done. It needs all 5 tries of the default budget (the old 3 tries failed it).
    fake_server.faults = FaultRates(rate_429=0.3, rate_500=0.1, seed=12, path="/chat/completions")
    flow = load_flow(examples_dir() / "fan-out-fan-in.flow.json")
    pool = ClientPool()
    config = settings(fake_server)

    async def connect(name):
        return await pool.get(config)

    try:
        result = await run_flow(flow, connect=connect, run_dir=tmp_path, max_concurrency=8)
    finally:
        await pool.aclose()
    assert result.status == "succeeded", {n.node_name: n.error for n in result.nodes.values()}
    assert all(node.attempts == 1 for node in result.nodes.values())  # the client retried, not the executor
    assert [r.fault for r in fake_server.requests] == [None, None, None, "429", "429", "500", "429", None]
    retries = [e for e in result.events if e.type == "progress" and "retrying in" in e.data.get("message", "")]
    assert {e.node_name for e in retries} == {"Combine"}
    assert [e.data["message"].split(";")[0] for e in retries] == [
        "rate limited (429)", "rate limited (429)", "server error (500)", "rate limited (429)"]
    assert retries[-1].data["message"].endswith("(try 5 of 5)")
