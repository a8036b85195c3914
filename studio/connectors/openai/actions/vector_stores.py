"""Vector stores: create, list, retrieve, update, delete; add a file or a batch of files (waiting
until they are processed, with progress), remove a file; search."""

from __future__ import annotations

import json
from typing import Any

from studio.engine.context import NodeContext, NodeError

from ._common import (InputError, api_call, bool_input, connect, handles, json_value, key_values, present, required,
                      string_list, timeout_kw, to_plain)
from ._polling import poll_until_done

FILE_DONE = {"completed", "failed", "cancelled"}


def _store(ctx: NodeContext) -> str:
    return str(required(ctx, "vector_store_id")).strip()


def _metadata(ctx: NodeContext) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in key_values(ctx.inputs.get("metadata")).items()}
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{ctx.node.name}: 'Metadata' must be key/value pairs ({exc})") from exc


def _attributes(ctx: NodeContext) -> dict[str, Any] | None:
    try:
        pairs = key_values(ctx.inputs.get("attributes"))
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{ctx.node.name}: 'Attributes' must be key/value pairs ({exc})") from exc
    return pairs or None


def _expiry(ctx: NodeContext) -> dict[str, Any] | None:
    days = ctx.inputs.get("expires_after_days")
    return {"anchor": "last_active_at", "days": int(days)} if days not in (None, "", 0) else None


@handles("vector_store.create")
async def create_store(ctx: NodeContext) -> dict[str, Any]:
    params = present(name=ctx.inputs.get("name"), file_ids=string_list(ctx.inputs.get("file_ids")),
                     metadata=_metadata(ctx), expires_after=_expiry(ctx))
    client = await connect(ctx)
    store = to_plain(await api_call(ctx, client.sdk.vector_stores.create(**params, **timeout_kw(ctx))))
    if params.get("file_ids") and bool_input(ctx, "wait", default=True):
        store = await _wait_for_store(ctx, client, store)
    return store


async def _wait_for_store(ctx: NodeContext, client: Any, store: dict[str, Any]) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        return to_plain(await api_call(ctx, client.sdk.vector_stores.retrieve(store["id"], **timeout_kw(ctx))))

    return await poll_until_done(ctx, store, fetch, {"completed", "expired"}, what=f"vector store {store['id']}",
                                 progress=_counts)


def _counts(obj: dict[str, Any]) -> str:
    counts = obj.get("file_counts") or {}
    return f"{obj.get('status')}: {counts.get('completed', 0)}/{counts.get('total', 0)} files processed"


@handles("vector_store.list")
async def list_stores(ctx: NodeContext) -> dict[str, Any]:
    limit = ctx.inputs.get("limit")
    params = present(limit=int(limit) if limit not in (None, "") else None, order=ctx.inputs.get("order"),
                     after=ctx.inputs.get("after"))
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.vector_stores.list(**params, **timeout_kw(ctx)))
    return {"object": "list", "data": [to_plain(s) for s in page.data],
            "has_more": bool(getattr(page, "has_more", False))}


@handles("vector_store.retrieve")
async def retrieve_store(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.vector_stores.retrieve(_store(ctx), **timeout_kw(ctx))))


@handles("vector_store.update")
async def update_store(ctx: NodeContext) -> dict[str, Any]:
    store = _store(ctx)
    params = present(name=ctx.inputs.get("name"), metadata=_metadata(ctx), expires_after=_expiry(ctx))
    if not params:
        raise InputError(f"{ctx.node.name}: nothing to change: set 'Name', 'Metadata' or 'Expires After (days)'")
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.vector_stores.update(store, **params, **timeout_kw(ctx))))


@handles("vector_store.delete")
async def delete_store(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.vector_stores.delete(_store(ctx), **timeout_kw(ctx))))


@handles("vector_store.add_file")
async def add_file(ctx: NodeContext) -> dict[str, Any]:
    store, file_id = _store(ctx), str(required(ctx, "file_id")).strip()
    client = await connect(ctx)
    entry = to_plain(await api_call(ctx, client.sdk.vector_stores.files.create(
        store, **present(file_id=file_id, attributes=_attributes(ctx)), **timeout_kw(ctx))))
    if not bool_input(ctx, "wait", default=True):
        return entry

    async def fetch() -> dict[str, Any]:
        return to_plain(await api_call(ctx, client.sdk.vector_stores.files.retrieve(
            file_id, vector_store_id=store, **timeout_kw(ctx))))

    entry = await poll_until_done(ctx, entry, fetch, FILE_DONE, what=f"file {file_id}")
    if entry.get("status") != "completed":
        error = (entry.get("last_error") or {}).get("message") or entry.get("status")
        raise NodeError(f"{ctx.node.name}: file {file_id} was not added to the vector store: {error}",
                        details={"file": entry})
    return entry


@handles("vector_store.remove_file")
async def remove_file(ctx: NodeContext) -> dict[str, Any]:
    store, file_id = _store(ctx), str(required(ctx, "file_id")).strip()
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.vector_stores.files.delete(file_id, vector_store_id=store,
                                                                               **timeout_kw(ctx))))


@handles("vector_store.add_file_batch")
async def add_file_batch(ctx: NodeContext) -> dict[str, Any]:
    store = _store(ctx)
    file_ids = string_list(ctx.inputs.get("file_ids"))
    if not file_ids:
        raise InputError(f"{ctx.node.name}: 'File IDs' is required (one or more file ids)")
    client = await connect(ctx)
    batch = to_plain(await api_call(ctx, client.sdk.vector_stores.file_batches.create(
        store, **present(file_ids=file_ids, attributes=_attributes(ctx)), **timeout_kw(ctx))))
    if not bool_input(ctx, "wait", default=True):
        return batch
    batch_id = batch["id"]

    async def fetch() -> dict[str, Any]:
        return to_plain(await api_call(ctx, client.sdk.vector_stores.file_batches.retrieve(
            batch_id, vector_store_id=store, **timeout_kw(ctx))))

    async def cancel() -> Any:
        return await client.sdk.vector_stores.file_batches.cancel(batch_id, vector_store_id=store)

    return await poll_until_done(ctx, batch, fetch, FILE_DONE, what=f"file batch {batch_id}", progress=_counts,
                                 cancel=cancel)


@handles("vector_store.search")
async def search(ctx: NodeContext) -> dict[str, Any]:
    store = _store(ctx)
    limit = ctx.inputs.get("max_num_results")
    params = present(query=str(required(ctx, "query")), filters=json_value(ctx, "filters", expect=dict),
                     max_num_results=int(limit) if limit not in (None, "") else None)
    if bool_input(ctx, "rewrite_query"):
        params["rewrite_query"] = True
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.vector_stores.search(store, **params, **timeout_kw(ctx)))
    results = [to_plain(r) for r in page.data]
    return {"results": results, "text": "\n\n".join(c.get("text", "") for r in results for c in r.get("content") or [])}
