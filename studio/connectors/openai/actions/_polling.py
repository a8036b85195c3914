"""Waiting for a long-running OpenAI object (a background response, a video, a batch, a vector
store file batch, an eval run): ask for it again until its status is final, report each change as
progress, give up after the node's limit, and cancel it on the server when the node gives up or
is cancelled."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

from studio.engine.context import NodeContext, NodeError

POLL_DEFAULT_MS = 1000
WAIT_DEFAULT_S = 600


def _status(obj: dict[str, Any]) -> str:
    return str(obj.get("status") or "")


async def poll_until_done(ctx: NodeContext, first: dict[str, Any], fetch: Callable[[], Awaitable[dict[str, Any]]],
                          done: set[str], *, what: str, progress: Callable[[dict[str, Any]], str] | None = None,
                          cancel: Callable[[], Awaitable[Any]] | None = None) -> dict[str, Any]:
    """`fetch()` until the object's status is in `done`. The node's "Poll Interval (ms)" and
    "Max Wait (s)" inputs set the pace and the limit; past the limit the object is cancelled (when
    it can be) and the node fails naming its last status."""
    interval = max(0.02, float(ctx.inputs.get("poll_interval_ms") or POLL_DEFAULT_MS) / 1000)
    limit = float(ctx.inputs.get("max_wait_s") or WAIT_DEFAULT_S)
    deadline = time.monotonic() + limit
    current = first
    last_note = None
    try:
        while _status(current) not in done:
            note = progress(current) if progress else _status(current)
            if note != last_note:
                ctx.emit("progress", message=f"{what} {note}", status=_status(current))
                last_note = note
            if time.monotonic() > deadline:
                raise NodeError(f"{ctx.node.name}: {what} did not finish within {limit:g} s "
                                f"(still {_status(current)}){'; it was cancelled' if cancel else ''}",
                                details={"last": current})
            await asyncio.sleep(interval)
            current = await fetch()
    except (asyncio.CancelledError, NodeError):
        if cancel is not None and _status(current) not in done:
            await _quietly(cancel)
        raise
    ctx.emit("progress", message=f"{what} {progress(current) if progress else _status(current)}",
             status=_status(current))
    return current


async def _quietly(cancel: Callable[[], Awaitable[Any]]) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(cancel()), timeout=5)
    except BaseException:  # best effort: the node already failed or was cancelled
        pass
