"""Conversations: create (with first items), retrieve, update metadata, delete, and list, add,
retrieve or delete items; Responses append their input and output to a conversation they name."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from .common import Call, _BadRequest, _error, _id, _now, _public, page
from .responses import _input_items


class ConversationRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"conversations": "_route_conversations"}

    def _append_items(self, conversation_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        added = [{**item, "_seq": self._next_seq()} for item in items]
        with self._lock:
            self.conversation_items.setdefault(conversation_id, []).extend(added)
        return [_public(item) for item in added]

    async def _route_conversations(self, call: Call) -> Response | None:
        body, rest = call.body, call.rest
        if not rest and call.method == "POST":
            items = body.get("items") or []
            if len(items) > 20:
                raise _BadRequest("A conversation starts with at most 20 items.", param="items")
            conversation = {"id": _id("conv_"), "object": "conversation", "created_at": _now(),
                            "metadata": body.get("metadata") or {}}
            with self._lock:
                self.conversations[conversation["id"]] = conversation
            self._append_items(conversation["id"], _input_items(items))
            return JSONResponse(conversation)
        if not rest:
            return None
        conversation = self.conversations.get(rest[0])
        if conversation is None:
            return _error(404, f"Conversation with id '{rest[0]}' not found.", param="conversation_id")
        if len(rest) == 1:
            if call.method == "GET":
                return JSONResponse(conversation)
            if call.method == "POST":
                if not isinstance(body.get("metadata"), dict):
                    raise _BadRequest("Missing required parameter: 'metadata'.", param="metadata")
                with self._lock:
                    conversation["metadata"] = body["metadata"]
                return JSONResponse(conversation)
            if call.method == "DELETE":
                with self._lock:
                    self.conversations.pop(rest[0], None)
                    self.conversation_items.pop(rest[0], None)
                return JSONResponse({"id": rest[0], "object": "conversation.deleted", "deleted": True})
            return None
        if rest[1] != "items":
            return None
        items = self.conversation_items.get(rest[0], [])
        if len(rest) == 2 and call.method == "GET":
            return page(items, call.query, default_order="desc")
        if len(rest) == 2 and call.method == "POST":
            new = body.get("items")
            if not isinstance(new, list) or not new or len(new) > 20:
                raise _BadRequest("'items' must hold 1 to 20 items.", param="items")
            added = self._append_items(rest[0], _input_items(new))
            return JSONResponse({"object": "list", "data": added, "first_id": added[0]["id"],
                                 "last_id": added[-1]["id"], "has_more": False})
        item = next((i for i in items if i["id"] == rest[2]), None) if len(rest) == 3 else None
        if item is None:
            return _error(404, f"Item with id '{rest[-1]}' not found.", param="item_id")
        if call.method == "GET":
            return JSONResponse(_public(item))
        if call.method == "DELETE":
            with self._lock:
                items.remove(item)
            return JSONResponse(conversation)
        return None
