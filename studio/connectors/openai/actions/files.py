"""Files: upload (a local path, an upstream artifact or text), list, retrieve and delete."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext

from ._common import InputError, api_call, connect, handles, load_file, present, required, timeout_kw, to_plain

PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}


@handles("file.upload")
async def upload_file(ctx: NodeContext) -> dict[str, Any]:
    purpose = required(ctx, "purpose")
    if purpose not in PURPOSES:
        raise InputError(f"{ctx.node.name}: 'Purpose' must be one of {', '.join(sorted(PURPOSES))}, got {purpose!r}")
    name = ctx.inputs.get("filename") or None
    raw = ctx.inputs.get("file")
    if isinstance(raw, str) and ctx.inputs.get("file_is_text"):
        file = load_file(ctx, "file", value=raw.encode("utf-8"), name=name or "file.txt")
    else:
        file = load_file(ctx, "file", name=name)
    client = await connect(ctx)
    result = await api_call(
        ctx, client.sdk.files.create(file=file.as_upload(), purpose=purpose, **timeout_kw(ctx))
    )
    return to_plain(result)


@handles("file.list")
async def list_files(ctx: NodeContext) -> dict[str, Any]:
    limit = ctx.inputs.get("limit")
    params = present(
        purpose=ctx.inputs.get("purpose"),
        limit=int(limit) if limit not in (None, "") else None,
        order=ctx.inputs.get("order"),
        after=ctx.inputs.get("after"),
    )
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.files.list(**params, **timeout_kw(ctx)))
    files = [to_plain(f) for f in page.data]
    return {"object": "list", "data": files, "has_more": bool(getattr(page, "has_more", False))}


@handles("file.retrieve")
async def retrieve_file(ctx: NodeContext) -> dict[str, Any]:
    file_id = str(required(ctx, "file_id"))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.files.retrieve(file_id, **timeout_kw(ctx))))


@handles("file.delete")
async def delete_file(ctx: NodeContext) -> dict[str, Any]:
    file_id = str(required(ctx, "file_id"))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.files.delete(file_id, **timeout_kw(ctx))))
