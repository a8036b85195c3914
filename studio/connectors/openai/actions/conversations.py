"""Conversations: create, retrieve, update, delete, list and add items."""

from __future__ import annotations

import json
from typing import Any

from studio.engine.context import NodeContext

from ._common import (InputError, api_call, connect, handles, key_values, present, required, string_list, timeout_kw,
                      to_plain)

MAX_ITEMS = 20


def conversation_items(ctx: NodeContext, key: str = "items") -> list[dict[str, Any]]:
    """Items given as a text (one user message), a JSON list of items, or one item object."""
    raw = ctx.inputs.get(key)
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return []
        if text[0] in "[{":
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"{ctx.node.name}: 'Items' looks like JSON but is not valid ({exc.msg})") from exc
        else:
            raw = [{"type": "message", "role": "user", "content": text}]
    if isinstance(raw, dict):
        raw = [raw]
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise InputError(f"{ctx.node.name}: 'Items' must be a text or a JSON list of item objects")
    if len(raw) > MAX_ITEMS:
        raise InputError(f"{ctx.node.name}: 'Items' holds {len(raw)} items; at most {MAX_ITEMS} at a time")
    return [{"type": "message", **item} if "role" in item and "type" not in item else item for item in raw]


def _metadata(ctx: NodeContext) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in key_values(ctx.inputs.get("metadata")).items()}
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{ctx.node.name}: 'Metadata' must be key/value pairs ({exc})") from exc


def _id(ctx: NodeContext) -> str:
    return str(required(ctx, "conversation_id")).strip()


@handles("conversation.create")
async def create_conversation(ctx: NodeContext) -> dict[str, Any]:
    params = present(items=conversation_items(ctx), metadata=_metadata(ctx))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.conversations.create(**params, **timeout_kw(ctx))))


@handles("conversation.retrieve")
async def retrieve_conversation(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.conversations.retrieve(_id(ctx), **timeout_kw(ctx))))


@handles("conversation.update")
async def update_conversation(ctx: NodeContext) -> dict[str, Any]:
    conversation = _id(ctx)
    metadata = _metadata(ctx)
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.conversations.update(conversation, metadata=metadata,
                                                                        **timeout_kw(ctx))))


@handles("conversation.delete")
async def delete_conversation(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.conversations.delete(_id(ctx), **timeout_kw(ctx))))


@handles("conversation.list_items")
async def list_items(ctx: NodeContext) -> dict[str, Any]:
    conversation = _id(ctx)
    limit = ctx.inputs.get("limit")
    params = present(order=ctx.inputs.get("order"), limit=int(limit) if limit not in (None, "") else None,
                     after=ctx.inputs.get("after"), include=string_list(ctx.inputs.get("include")))
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.conversations.items.list(conversation, **params, **timeout_kw(ctx)))
    items = [to_plain(i) for i in page.data]
    return {"object": "list", "data": items, "has_more": bool(getattr(page, "has_more", False)),
            "text": "\n".join(_line(i) for i in items if i.get("type") == "message")}


def _line(item: dict[str, Any]) -> str:
    parts = [c.get("text", "") for c in item.get("content") or [] if isinstance(c, dict)]
    return f"{item.get('role')}: {' '.join(p for p in parts if p)}"


@handles("conversation.add_items")
async def add_items(ctx: NodeContext) -> dict[str, Any]:
    conversation = _id(ctx)
    items = conversation_items(ctx)
    if not items:
        raise InputError(f"{ctx.node.name}: 'Items' is required")
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.conversations.items.create(conversation, items=items, **timeout_kw(ctx)))
    return to_plain(page)
