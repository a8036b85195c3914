"""Streams broken mid-answer are tried again like refused requests.

The SDK call that opens a stream is retried by the client (429, 5xx, connection errors), but a
stream can also break after it started: cut off without a finish reason, dropped, idle past its
limit, a malformed chunk. Those are transient too, so the whole streamed call is tried again with
the connection's tries and time budget, each retry announced on the node. Viewers get a `delta`
event with `restart` so the text shown so far starts over instead of being doubled."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, TypeVar

from studio.connectors.openai.retries import announce_retry, backoff_s
from studio.connectors.openai.errors import StreamBroken
from studio.engine.context import NodeContext

T = TypeVar("T")


async def with_stream_retries(ctx: NodeContext, client: Any, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` (one streamed call) until it finishes, a non-stream error ends it, or the
    connection's tries (max retries + 1) or its retry budget are used up."""
    sdk = client.sdk
    tries = int(getattr(sdk, "max_retries", 0)) + 1
    policy = sdk.policy
    started = time.monotonic()
    number = 1
    while True:
        try:
            return await attempt()
        except StreamBroken as exc:
            wait = backoff_s(policy.retry_delay_s, number)
            if number >= tries or time.monotonic() - started + wait > policy.retry_budget_s:
                raise
            announce_retry(str(exc).split(": ", 1)[-1], wait, number + 1, tries)
            ctx.emit("delta", text="", restart=True)
            await asyncio.sleep(wait)
            number += 1
