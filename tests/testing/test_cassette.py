"""Cassettes: requests match whatever their key order, ids and multipart boundaries; a request the
cassette does not hold is refused (no retry) and its difference named; recording keeps no
credential."""

from __future__ import annotations

import asyncio
import json

import pytest

from studio.connectors.openai.client import ClientPool, ConnectionSettings
from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.testing.cassette import Cassette, cassette_path, normal_request
from studio.testing.transport import cassette_transports


def _json_request(body: dict, path: str = "/v1/chat/completions") -> dict:
    return normal_request("POST", path, "", "application/json", json.dumps(body).encode())


def test_key_order_and_ids_do_not_matter():
    a = _json_request({"model": "m", "metadata": {"run": "0f5c1a3e-8a4b-4c1e-9d6a-0f9f3c6c2b10"}, "n": 1})
    b = _json_request({"n": 1, "metadata": {"run": "6f1c3a52-4b1e-4a8e-9d6a-0f9f3c6c2b11"}, "model": "m"})
    assert a == b
    assert a != _json_request({"n": 2, "model": "m", "metadata": {"run": "x"}})


def test_credential_query_parameters_are_not_kept():
    request = normal_request("GET", "/v1/models", "api-key=sk-secret&limit=2", "", b"")
    assert request["query"] == [["api-key", "[REDACTED]"], ["limit", "2"]]
    assert "sk-secret" not in json.dumps(request)


def test_multipart_boundaries_do_not_matter_but_file_contents_do():
    def multipart(boundary: str, content: bytes) -> dict:
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return normal_request("POST", "/v1/files", "", f"multipart/form-data; boundary={boundary}", body)

    first, second = multipart("aaa111", b"{}\n"), multipart("bbb222", b"{}\n")
    assert first == second
    assert first["body"]["multipart"]["purpose"] == "fine-tune"
    assert first["body"]["multipart"]["file"]["filename"] == "a.jsonl"
    assert multipart("aaa111", b"[]\n") != first


def test_cassette_file_sits_beside_the_flow(tmp_path):
    path = cassette_path(tmp_path / "chat-then-moderation.flow.json", "tide pools")
    assert path == tmp_path / "chat-then-moderation.cassettes" / "tide-pools.json"


def test_a_miss_names_the_field_that_changed(tmp_path):
    cassette = Cassette(tmp_path / "c.json")
    sent = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Write about cats."}]}
    cassette.add(_json_request(sent), {"status": 200, "headers": {}, "body": {"json": {"ok": True}}})
    assert cassette.answer(_json_request(sent)) is not None
    assert cassette.answer(_json_request(sent)) is not None  # the same request may come again
    assert cassette.misses == []
    changed = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Write about dogs."}]}
    assert cassette.answer(_json_request(changed)) is None
    text = cassette.misses[0].describe()
    assert 'body.model: recorded "gpt-4o-mini", now "gpt-4o"' in text
    assert 'body.messages[0].content: recorded "Write about cats.", now "Write about dogs."' in text
    assert cassette.answer(_json_request(sent, "/v1/embeddings")) is None
    assert "has no POST /v1/embeddings (it holds: POST /v1/chat/completions)" in cassette.misses[1].describe()


def test_record_then_replay_through_the_client_pool_without_the_key(tmp_path):
    """Typed SDK calls and raw requests go through the cassette transports; the recorded file
    holds no key; the replay needs no server (it is stopped) and refuses a new request at once."""
    path = tmp_path / "flow.cassettes" / "t.json"

    async def calls(base_url: str, key: str, cassette: Cassette) -> tuple[str, dict]:
        pool = ClientPool(cassette_transports(cassette))
        client = await pool.get(ConnectionSettings(base_url=base_url, api_key=key, retry_delay_s=0.0))
        try:
            completion = await client.sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
            raw = await client.raw_request("GET", "/v1/models", headers={"X-Api-Key": "extra-secret"})
            return completion.choices[0].message.content, raw.body
        finally:
            await pool.aclose()

    with FakeOpenAIServer(latency_ms=0) as server:
        recording = Cassette.load(path, "record")
        live = asyncio.run(calls(server.base_url, "sk-live-secret-123", recording))
        recording.save("F", "t")
        requests_seen = len(server.requests)
    text = path.read_text(encoding="utf-8")
    assert "sk-live-secret-123" not in text and "extra-secret" not in text and "uthorization" not in text
    assert requests_seen == 2

    replay = Cassette.load(path)
    assert asyncio.run(calls("http://cassette.invalid/v1", "other-key", replay)) == live
    assert replay.misses == []

    async def new_request() -> None:
        pool = ClientPool(cassette_transports(replay))
        client = await pool.get(ConnectionSettings(base_url="http://cassette.invalid/v1", api_key="k"))
        try:
            await client.sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
        finally:
            await pool.aclose()

    import openai

    with pytest.raises(openai.BadRequestError) as info:
        asyncio.run(new_request())
    assert 'body.model: recorded "gpt-4o-mini", now "gpt-4o"' in str(info.value)
    assert len(replay.misses) == 1  # refused once: not retried


def test_a_broken_cassette_file_is_a_clear_error(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a cassette"):
        Cassette.load(path)
