"""Create Embeddings: /embeddings for one text or a list of texts. Simplified output is
{embeddings: [vector per text], model, usage}; otherwise the API's response as sent."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext
from studio.engine.expressions import to_text

from ._common import (
    InputError, api_call, bool_input, connect, handles, report_usage, required, timeout_kw, to_plain,
)

DEFAULT_MODEL = "text-embedding-3-small"


def _texts(ctx: NodeContext) -> str | list[str]:
    value = required(ctx, "input")
    if isinstance(value, list):
        if not value:
            raise InputError(f"{ctx.node.name}: 'Input' is an empty list; give at least one text")
        texts = [item if isinstance(item, str) else to_text(item) for item in value]
        empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
        if empty:
            raise InputError(f"{ctx.node.name}: 'Input' item {empty[0]} is empty; every text needs content")
        return texts
    text = value if isinstance(value, str) else to_text(value)
    if not text.strip():
        raise InputError(f"{ctx.node.name}: 'Input' is empty; give the text to embed")
    return text


@handles("embeddings.create")
async def create_embeddings(ctx: NodeContext) -> Any:
    texts = _texts(ctx)
    params: dict[str, Any] = {"model": ctx.inputs.get("model") or DEFAULT_MODEL, "input": texts}
    for key in ("dimensions", "user"):
        if ctx.inputs.get(key) not in (None, ""):
            params[key] = ctx.inputs[key]
    params["encoding_format"] = "float"  # the SDK would ask for base64 and decode it; the node wants numbers
    client = await connect(ctx)
    result = to_plain(await api_call(ctx, client.sdk.embeddings.create(**params, **timeout_kw(ctx))))
    report_usage(ctx, result.get("usage"))
    if bool_input(ctx, "simplify", True):
        vectors = [item.get("embedding") for item in sorted(result.get("data") or [], key=lambda d: d.get("index", 0))]
        return {"embeddings": vectors, "model": result.get("model"), "usage": result.get("usage")}
    return result
