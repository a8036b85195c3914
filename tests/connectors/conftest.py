"""Fixtures for handler tests against the fake OpenAI server. Every JSON (and multipart) request
body the server receives is checked against OpenAI's published schema after each test, so a
handler that sends something the real API would refuse fails here; so is every JSON answer of the
operations tests/fixtures/openai/response_schemas.json covers, so the fake answers as OpenAI does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "actions", HERE.parent / "engine"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from connector_testkit import answer_schema_errors, request_schema_errors  # noqa: E402
from studio.connectors.openai.client import ConnectionSettings, OpenAIClient  # noqa: E402
from studio.connectors.openai.fake_server import FakeOpenAIServer  # noqa: E402


@pytest.fixture(scope="module")
def _module_server():
    with FakeOpenAIServer(latency_ms=0) as server:
        yield server


@pytest.fixture
def fake_server(_module_server):
    """The module's fake server, cleared for this test; request bodies are schema-checked after."""
    server = _module_server
    server.latency_ms = 0
    server.wait_idle()  # requests an earlier test gave up on end once their client hangs up
    server.reset()
    server.latency_ms = 0
    server.invalid_keys = {"sk-invalid"}
    yield server
    problems = request_schema_errors(server.requests) + answer_schema_errors(server.requests)
    server.latency_ms = 0
    if problems:
        pytest.fail("requests or answers that break OpenAI's published schema:\n" + "\n".join(problems),
                    pytrace=False)


@pytest.fixture
async def client(fake_server):
    """A real OpenAIClient for the fake server (short SDK backoff so retries are quick)."""
    settings = ConnectionSettings(api_key="sk-test", base_url=fake_server.base_url, retry_delay_s=0.01)
    async with OpenAIClient(settings) as opened:
        yield opened
