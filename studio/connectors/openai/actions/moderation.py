"""Classify Text for Violations (n8n): /moderations. Simplified output is the first result
(`flagged`, `categories`, `category_scores`), as n8n returns it."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext

from ._common import api_call, bool_input, connect, handles, required, timeout_kw, to_plain

# n8n's "Use Stable Model" switch picks the stable model instead of the latest.
LATEST_MODEL, STABLE_MODEL = "omni-moderation-latest", "text-moderation-stable"


@handles("moderation.classify")
async def classify(ctx: NodeContext) -> Any:
    text = required(ctx, "input")
    model = ctx.inputs.get("model") or (STABLE_MODEL if bool_input(ctx, "use_stable_model") else LATEST_MODEL)
    client = await connect(ctx)
    result = to_plain(await api_call(ctx, client.sdk.moderations.create(input=text, model=model, **timeout_kw(ctx))))
    if bool_input(ctx, "simplify"):
        results = result.get("results") or [{}]
        return results[0] if len(results) == 1 else results
    result["flagged"] = any(r.get("flagged") for r in result.get("results") or [])
    return result
