"""Loop Over Items, Wait, No Operation and Stop and Error."""

from __future__ import annotations

import asyncio
from typing import Any

from studio.engine.context import NodeContext, NodeError, Routed
from studio.engine.handlers import runs_inline

from ._common import InputError, handles, items_of

SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@handles("core.loop")
async def loop(ctx: NodeContext) -> Any:
    """Runs the body (nodes below the Loop port) per batch; Done carries the results in order."""
    items, _ = items_of(ctx.inputs.get("items"))
    size = int(ctx.inputs.get("batch_size") or 1)
    if size < 1:
        raise InputError(ctx, "batch_size", "must be 1 or more")
    batches: list[Any] = items if size == 1 else [items[i:i + size] for i in range(0, len(items), size)]
    if ctx.run_body is None:
        raise NodeError(f"{ctx.node.name}: this runner cannot run a loop body", retryable=False)
    outcomes = await ctx.run_body(batches, int(ctx.inputs.get("concurrency") or 1))
    results = []
    for index, outcome in enumerate(outcomes):
        if outcome["status"] != "succeeded":
            if (ctx.inputs.get("on_item_error") or "stop") == "stop":
                error = outcome.get("error") or {}
                raise NodeError(f"{ctx.node.name}: item {index + 1} failed: {error.get('message', 'no reason given')}",
                                details={"item": index, "error": error}, retryable=False)
            results.append({"error": outcome.get("error")})
        else:
            results.append(outcome["output"])
    return Routed("done", results)


@handles("core.wait")
async def wait(ctx: NodeContext) -> Any:
    amount = ctx.inputs.get("amount")
    unit = ctx.inputs.get("unit") or "seconds"
    if not isinstance(amount, (int, float)) or amount < 0:
        raise InputError(ctx, "amount", "must be a number of 0 or more")
    seconds = amount * SECONDS[unit]
    if seconds:
        ctx.emit("progress", message=f"waiting {amount:g} {unit}")
        await asyncio.sleep(seconds)
    return ctx.upstream


@handles("core.noop")
@runs_inline
async def noop(ctx: NodeContext) -> Any:
    return ctx.upstream


class StoppedByFlow(NodeError):
    """The error a Stop and Error node raises on purpose (never retried)."""


@handles("core.stop_and_error")
@runs_inline
async def stop_and_error(ctx: NodeContext) -> Any:
    if (ctx.inputs.get("error_type") or "message") == "object":
        details = ctx.inputs.get("error_object")
        if not isinstance(details, dict):
            raise InputError(ctx, "error_object", "must be a JSON object")
        message = str(details.get("message") or ctx.inputs.get("message") or "Stopped by the flow")
    else:
        details = {}
        message = str(ctx.inputs.get("message") or "Stopped by the flow")
    raise StoppedByFlow(f"{ctx.node.name}: {message}", details=details, retryable=False)
