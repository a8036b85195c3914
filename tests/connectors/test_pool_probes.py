"""The SDK pool's idle-connection probe (studio/connectors/openai/sockets.py) keeps its meaning:
a keep-alive connection the server has closed while idle is dropped, and the next call goes out on
a new connection instead of failing; one still open is reused."""

from __future__ import annotations

import asyncio
import json

from studio.connectors.openai.client import ConnectionSettings, OpenAIClient
from studio.connectors.openai.sockets import ProbeCachingStream

ANSWER = json.dumps({"ok": True}).encode()


class ClosingServer:
    """An HTTP/1.1 server on loopback that answers one request per connection with keep-alive,
    then, when `close_after_answer` is set, closes the connection 0.1 s later."""

    def __init__(self, close_after_answer: bool) -> None:
        self.close_after_answer = close_after_answer
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n" % len(ANSWER) + ANSWER)
                await writer.drain()
                if self.close_after_answer:
                    await asyncio.sleep(0.1)  # after the client put the connection back as idle
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def _two_calls(close_after_answer: bool) -> tuple[list, int, list[bool]]:
    server = ClosingServer(close_after_answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    client = OpenAIClient(ConnectionSettings(api_key="sk-probe", base_url=f"http://127.0.0.1:{port}/v1",
                                             max_retries=0))
    try:
        first = await client.post_json("/chat/completions", {"n": 1})
        await asyncio.sleep(0.3)  # the server's close (if any) reaches our socket
        pool = client.sdk._client._transport._pool
        streams = [c._connection._network_stream for c in pool.connections]
        readable = [s.get_extra_info("is_readable") for s in streams]
        assert all(isinstance(s, ProbeCachingStream) for s in streams)
        second = await client.post_json("/chat/completions", {"n": 2})
    finally:
        await client.aclose()
        listener.close()
        await listener.wait_closed()
    return [first, second], server.connections, readable


async def test_a_connection_the_server_closed_while_idle_is_replaced():
    answers, connections, readable = await _two_calls(close_after_answer=True)
    assert answers == [{"ok": True}, {"ok": True}]
    assert readable == [True]  # the probe saw the server's close
    assert connections == 2


async def test_an_open_idle_connection_is_reused():
    answers, connections, readable = await _two_calls(close_after_answer=False)
    assert answers == [{"ok": True}, {"ok": True}]
    assert readable == [False]
    assert connections == 1
