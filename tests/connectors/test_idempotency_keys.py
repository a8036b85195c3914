"""The OpenAI client's idempotency keys: the SDK's format, never the same twice, not even in a
forked child that inherited the parent's unread random bytes."""

from __future__ import annotations

import os
import uuid

import pytest

from studio.connectors.openai.client import ConnectionSettings, OpenAIClient
from studio.connectors.openai.idempotency import PREFIX, idempotency_key


def _uuid(key: str) -> uuid.UUID:
    assert key.startswith(PREFIX)
    return uuid.UUID(key[len(PREFIX):])


def test_keys_are_random_version_4_uuids_written_as_the_sdk_writes_them():
    keys = [idempotency_key() for _ in range(3000)]  # more than one batch of random bytes
    assert len(set(keys)) == len(keys)
    for key in keys:
        value = _uuid(key)
        assert value.version == 4 and value.variant == uuid.RFC_4122
        assert key == f"stainless-python-retry-{value}"  # lower-case hex, dashes where uuid puts them


async def test_the_sdk_client_makes_its_keys_here():
    client = OpenAIClient(ConnectionSettings(api_key="sk-test", base_url="http://127.0.0.1:9/v1"))
    try:
        first, second = client.sdk._idempotency_key(), client.sdk._idempotency_key()
        assert first != second and _uuid(first).version == 4
    finally:
        await client.aclose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_next_keys():
    idempotency_key()  # the parent has read ahead: unread random bytes are in its memory
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, "\n".join(idempotency_key() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split("\n")
    os.waitpid(pid, 0)
    parent = [idempotency_key() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)
