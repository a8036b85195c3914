"""Fixtures of the hostile-input tests: one fake OpenAI server per module, cleared before each test
(it records every request, so "sent nothing" is checked where the traffic would arrive)."""

from __future__ import annotations

import pytest

from studio.connectors.openai.fake_server import FakeOpenAIServer


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAIServer(latency_ms=0) as server:
        yield server


@pytest.fixture
def server(fake):
    fake.reset()
    yield fake
