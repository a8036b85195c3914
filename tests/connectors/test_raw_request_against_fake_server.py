"""Raw Request against the fake server: methods, JSON/form/file bodies, query, headers, the three
response types, debug logging without the key, retries, and paths that stay under the base URL."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connector_testkit import covers, run_action
from studio.connectors.openai.client import OpenAIClient
from studio.engine.context import NodeError


def raw(values, tmp_path, client, **kw):
    return run_action("raw.request", values, tmp_path, client, name="Raw", **kw)


@covers("raw.request")
@pytest.mark.parametrize("url", ["/v1/models", "/models", "models", "v1/models"])
async def test_default_get_models_never_doubles_the_version(fake_server, client, tmp_path, url):
    values = {} if url == "/v1/models" else {"url": url}
    output, _ = await raw(values, tmp_path, client)
    assert [r.path for r in fake_server.requests] == ["/v1/models"]
    assert fake_server.requests[0].method == "GET"
    assert output["object"] == "list" and any(m["id"] == "gpt-4o" for m in output["data"])


@covers("raw.request")
async def test_post_json_data_with_query_and_headers(fake_server, client, tmp_path):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "raw hello"}]}
    output, _ = await raw({"url": "/v1/chat/completions", "method": "POST", "data": body,
                           "query_params": {"trace": "on"}, "headers": {"X-Request-Tag": "t-1"}}, tmp_path, client)
    sent = fake_server.requests[0]
    assert sent.json == body and sent.query == {"trace": "on"}
    assert sent.headers["x-request-tag"] == "t-1" and sent.headers["authorization"] == "Bearer sk-test"
    assert output["choices"][0]["message"]["content"] == "Echo: raw hello"


@covers("raw.request")
async def test_form_data_and_file_data_with_file_names(fake_server, client, tmp_path):
    source = tmp_path / "local.jsonl"
    source.write_bytes(b'{"a": 1}\n')
    output, _ = await raw({"url": "/v1/files", "method": "POST", "form_data": {"purpose": "batch"},
                           "file_data": {"file": {"path": "local.jsonl"}},  # a file, named as a file
                           "file_data_file_names": {"file": "renamed.jsonl"}}, tmp_path, client)
    sent = fake_server.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.form == {"purpose": "batch"} and sent.files == {"file": ("renamed.jsonl", source.stat().st_size)}
    assert output["filename"] == "renamed.jsonl" and output["purpose"] == "batch"
    # text given as the file's content
    output, _ = await raw({"url": "/v1/files", "method": "POST", "form_data": {"purpose": "user_data"},
                           "file_data": {"file": "inline words"}, "file_data_file_names": {"file": "note.txt"}},
                          tmp_path, client)
    assert fake_server.requests[1].files == {"file": ("note.txt", len("inline words"))}
    assert fake_server.file_contents[output["id"]] == b"inline words"


@covers("raw.request")
async def test_text_and_binary_responses_and_delete(fake_server, client, tmp_path):
    uploaded, _ = await raw({"url": "/v1/files", "method": "POST", "form_data": {"purpose": "assistants"},
                             "file_data": {"file": "line one\nline two"},
                             "file_data_file_names": {"file": "a.txt"}}, tmp_path, client)
    text, _ = await raw({"url": f"/v1/files/{uploaded['id']}/content", "response_type": "text"}, tmp_path, client)
    assert text == "line one\nline two"
    binary, _ = await raw({"url": "/v1/audio/speech", "method": "POST", "response_type": "binary",
                           "data": {"model": "tts-1", "input": "beep", "voice": "alloy"},
                           "file_name": "beep.mp3"}, tmp_path, client)
    saved = binary["file"]
    assert saved["media_type"] == "audio/mpeg" and Path(saved["path"]).name == "beep.mp3"
    assert Path(saved["path"]).read_bytes().startswith(b"ID3")
    deleted, _ = await raw({"url": f"/v1/files/{uploaded['id']}", "method": "DELETE"}, tmp_path, client)
    assert deleted["deleted"] is True and fake_server.requests[-1].method == "DELETE"


@covers("raw.request")
async def test_debug_logs_the_request_without_the_key(fake_server, client, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="studio.raw"):
        await raw({"url": "/v1/models", "debug_request": True, "headers": {"X-Api-Key": "other-secret"}},
                  tmp_path, client)
    text = caplog.text
    assert "raw request GET" in text and "raw response GET" in text and "-> 200" in text
    assert "[REDACTED]" in text
    assert "sk-test" not in text and "other-secret" not in text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="studio.raw"):
        await raw({"url": "/v1/models"}, tmp_path, client)
    assert "raw request" not in caplog.text


@pytest.fixture
def delays(monkeypatch):
    """The waits the client chose between raw retries (asserted instead of wall-clock time)."""
    chosen: list[float] = []
    original = OpenAIClient._raw_delay

    def spy(attempt, retry_delay_ms, exponential, retry_after):
        value = original(attempt, retry_delay_ms, exponential, retry_after)
        chosen.append(value)
        return value

    monkeypatch.setattr(OpenAIClient, "_raw_delay", staticmethod(spy))
    return chosen


@covers("raw.request")
async def test_retries_server_errors_with_the_retry_delay(fake_server, client, tmp_path, delays):
    fake_server.fail_next(500, count=2)
    output, _ = await raw({"max_retry_count": 2, "retry_delay_ms": 30}, tmp_path, client)
    assert output["object"] == "list"
    assert [r.fault for r in fake_server.requests] == ["500", "500", None]
    assert delays == [0.03, 0.03]


@covers("raw.request")
async def test_max_retry_count_bounds_the_tries(fake_server, client, tmp_path, delays):
    fake_server.fail_next(503, count=10)
    with pytest.raises(NodeError) as failure:
        await raw({"max_retry_count": 2, "retry_delay_ms": 1}, tmp_path, client)
    assert len(fake_server.requests) == 3
    assert "server error (503)" in str(failure.value) and str(failure.value).startswith("Raw: ")
    fake_server.reset()
    fake_server.fail_next(500, count=1)
    with pytest.raises(NodeError):
        await raw({}, tmp_path, client)  # the default: no retries
    assert len(fake_server.requests) == 1


@covers("raw.request")
async def test_client_errors_retry_only_when_retry_on_all_errors(fake_server, client, tmp_path, delays):
    fake_server.fail_next(429, count=1)
    with pytest.raises(NodeError, match="rate limited"):
        await raw({"max_retry_count": 3}, tmp_path, client)
    assert len(fake_server.requests) == 1
    fake_server.reset()
    fake_server.fail_next(429, count=1)
    output, _ = await raw({"max_retry_count": 3, "retry_on_all_errors": True}, tmp_path, client)
    assert output["object"] == "list" and len(fake_server.requests) == 2


@covers("raw.request")
async def test_exponential_backoff_and_retry_after(fake_server, client, tmp_path, delays):
    fake_server.fail_next(500, count=3)
    await raw({"max_retry_count": 3, "retry_delay_ms": 10, "use_exponential_backoff": True}, tmp_path, client)
    assert len(delays) == 3
    for attempt, delay in enumerate(delays):
        step = 0.01 * 2 ** attempt
        assert step <= delay <= step * 1.25
    delays.clear()
    fake_server.fail_next(503, count=1, retry_after_ms=20)
    await raw({"max_retry_count": 1, "retry_delay_ms": 5000}, tmp_path, client)
    assert delays == [0.02]  # the server's wait wins over the node's delay


@covers("raw.request")
async def test_dropped_connection_is_retried(fake_server, client, tmp_path, delays):
    fake_server.fail_next(0, count=1)
    output, _ = await raw({"max_retry_count": 1}, tmp_path, client)
    assert output["object"] == "list"
    assert [r.fault for r in fake_server.requests] == ["drop", None]


@covers("raw.request")
@pytest.mark.parametrize("url", ["https://evil.example/v1/models", "//evil.example/x", "/v1/../../etc",
                                 "/v1/%2e%2e/x"])
async def test_paths_outside_the_base_url_are_refused_before_sending(fake_server, client, tmp_path, url):
    with pytest.raises(NodeError) as failure:
        await raw({"url": url}, tmp_path, client)
    assert failure.value.retryable is False and "URL" in str(failure.value)
    assert fake_server.requests == []


@covers("raw.request")
async def test_the_timeout_input_bounds_each_try(fake_server, client, tmp_path):
    fake_server.latency_ms = 2000
    with pytest.raises(NodeError) as failure:
        await raw({"timeout": 200}, tmp_path, client)
    assert "Timeout (ms)" in str(failure.value) and failure.value.retryable is True
    assert len(fake_server.requests) == 1
