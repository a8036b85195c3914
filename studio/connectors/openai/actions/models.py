"""List Models and Get Model by ID."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext

from ._common import api_call, connect, handles, required, timeout_kw, to_plain


@handles("model.list")
async def list_models(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.models.list(**timeout_kw(ctx)))
    models = [to_plain(m) for m in page.data]
    return {"object": "list", "data": models, "ids": [m.get("id") for m in models]}


@handles("model.get")
async def get_model(ctx: NodeContext) -> dict[str, Any]:
    model = required(ctx, "model")
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.models.retrieve(str(model), **timeout_kw(ctx))))
