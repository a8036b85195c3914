"""A chat turn runs the flow with the earlier turns in the payload, and the reply comes from the
node the Chat trigger names."""

from __future__ import annotations

import pytest

from studio.connectors.openai.client import ClientPool, ConnectionSettings
from studio.engine.executor import run_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.triggers.chat import ChatError, ChatSession


def chat_flow(reply_node: str = "Answer") -> Flow:
    trigger = Node(action="trigger.chat", name="Chat", values={"reply_node": reply_node})
    answer = Node(action="chat.create_completion", name="Answer",
                  values={"model": "gpt-4o-mini", "messages": "{{ trigger.messages }}", "stream": False})
    return Flow(name="Chat", nodes=[trigger, answer],
                wires=[Wire(source=Endpoint(node=trigger.id, port="output"), target=Endpoint(node=answer.id, port="in"))])


@pytest.fixture
def server():
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    with FakeOpenAIServer(latency_ms=0) as fake:
        yield fake


async def test_a_chat_turn_uses_the_previous_turns(server):
    pool = ClientPool()
    settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url)

    async def connect(_name):
        return await pool.get(settings)

    async def run(flow, payload):
        return await run_flow(flow, trigger_payload=payload, connect=connect)

    session = ChatSession(chat_flow(), run)
    try:
        first = await session.send("My name is Ada.")
        second = await session.send("What is my name?")
    finally:
        await pool.aclose()
    assert first and second
    bodies = [r.json for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(bodies) == 2
    assert bodies[0]["messages"] == [{"role": "user", "content": "My name is Ada."}]
    assert bodies[1]["messages"] == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "What is my name?"},
    ]
    assert [t.role for t in session.turns] == ["user", "assistant", "user", "assistant"]


async def test_a_reply_node_that_does_not_exist_is_named():
    async def run(flow, payload):
        raise AssertionError("must not run")

    with pytest.raises(ChatError, match="'Reply Node' names 'Nope'"):
        await ChatSession(chat_flow("Nope"), run).send("hi")


async def test_a_failed_turn_is_not_kept(server):
    server.invalid_keys.add("sk-bad")
    pool = ClientPool()

    async def connect(_name):
        return await pool.get(ConnectionSettings(api_key="sk-bad", base_url=server.base_url, max_retries=0))

    async def run(flow, payload):
        return await run_flow(flow, trigger_payload=payload, connect=connect)

    session = ChatSession(chat_flow(), run)
    try:
        with pytest.raises(ChatError, match="no reply: Answer failed.*invalid API key"):
            await session.send("hello")
    finally:
        await pool.aclose()
    assert session.turns == []
