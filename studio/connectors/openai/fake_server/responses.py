"""Responses: answers as output items (hosted tool calls, reasoning, messages, function calls),
streamed as typed events; stored responses can be retrieved, and background ones advance one step
per look (queued -> in_progress -> completed) until cancelled. A `conversation` gets the input and
output items appended."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from starlette.responses import JSONResponse, Response, StreamingResponse

from .builtin_tools import tool_items
from .common import (Call, _BadRequest, _error, _id, _now, _pieces, _public, _Reply, _sse, _tokens, last_user_text,
                     schema_instance)


class ResponsesRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"responses": "_route_responses"}

    async def _route_responses(self, call: Call) -> Response | None:
        if not call.rest and call.method == "POST":
            return await self._responses(call.body)
        if not call.rest:
            return None
        stored = self.responses.get(call.rest[0])
        if stored is None:
            return _error(404, f"Response with id '{call.rest[0]}' not found.", param="response_id")
        if len(call.rest) == 1 and call.method == "GET":
            self._advance_response(stored)
            return JSONResponse(_public(stored))
        if len(call.rest) == 1 and call.method == "DELETE":
            with self._lock:
                self.responses.pop(call.rest[0], None)
            return JSONResponse({"id": call.rest[0], "object": "response.deleted", "deleted": True})
        if call.rest[1:] == ["cancel"] and call.method == "POST":
            if not stored.get("background"):
                raise _BadRequest("Only background responses can be cancelled.", param="response_id")
            with self._lock:
                if stored["status"] in ("queued", "in_progress"):
                    stored.update(status="cancelled", output=[])
            return JSONResponse(_public(stored))
        return None

    def _advance_response(self, stored: dict[str, Any]) -> None:
        """A background response moves one step per look: queued -> in_progress -> completed."""
        with self._lock:
            if stored["status"] == "queued":
                stored["status"] = "in_progress"
            elif stored["status"] == "in_progress":
                stored.update(status="completed", output=stored.pop("_output"), usage=stored.pop("_usage"),
                              completed_at=_now())

    def _response_reply(self, body: dict[str, Any]) -> _Reply:
        scripted = self._next_script("responses")
        if scripted is not None:
            return scripted
        answered = self._answer("responses", body)
        if answered is not None:
            return answered
        echo = _question(body)
        fmt = (body.get("text") or {}).get("format") or {}
        if fmt.get("type") == "json_object":
            return _Reply(text=json.dumps({"echo": echo}))
        if fmt.get("type") == "json_schema":
            return _Reply(text=json.dumps(schema_instance(fmt.get("schema"), echo)))
        return _Reply(text=f"Echo: {echo}")

    async def _responses(self, body: dict[str, Any]) -> Response:
        if not body.get("model") and not body.get("prompt"):
            raise _BadRequest("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
        if body.get("input") in (None, "", []) and not body.get("prompt"):
            raise _BadRequest("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
        conversation = body.get("conversation")
        conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
        if conversation_id and conversation_id not in self.conversations:
            return _error(404, f"Conversation with id '{conversation_id}' not found.", param="conversation")
        if body.get("previous_response_id") and conversation_id:
            raise _BadRequest("Use either previous_response_id or conversation, not both.", param="conversation")
        reply = self._response_reply(body)
        question = _question(body)
        response_id = _id("resp_")
        input_tokens = _tokens(body.get("input")) + _tokens(body.get("instructions"))
        output_items: list[dict[str, Any]] = _reasoning_items(body) + tool_items(self, body, question)
        if reply.text is not None:
            output_items.append({"id": _id("msg_"), "type": "message", "status": "completed", "role": "assistant",
                                 "content": [{"type": "output_text", "text": reply.text, "annotations": [],
                                              "logprobs": []}]})
        for call in reply.calls:
            output_items.append({"id": _id("fc_"), "type": "function_call", "status": "completed",
                                 "call_id": call.call_id or _id("call_"), "name": call.name,
                                 "arguments": call.arguments_json()})
        output_tokens = sum(_tokens(i.get("arguments") or i.get("content", [{}])[0].get("text"))
                            for i in output_items if i["type"] in ("message", "function_call"))
        reasoning_tokens = 16 * sum(1 for i in output_items if i["type"] == "reasoning")
        usage = {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                 "output_tokens": output_tokens + reasoning_tokens,
                 "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                 "total_tokens": input_tokens + output_tokens + reasoning_tokens}
        text = body.get("text") or {}
        text_format = text.get("format") or {"type": "text"}
        reasoning = body.get("reasoning") or {}
        tier = body.get("service_tier") or "auto"
        base = {"id": response_id, "object": "response", "created_at": _now(), "status": "completed",
                "background": bool(body.get("background")), "error": None, "incomplete_details": None,
                "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
                "model": body.get("model") or "gpt-4.1", "output": output_items, "parallel_tool_calls": True,
                "previous_response_id": body.get("previous_response_id"),
                "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
                "service_tier": "default" if tier == "auto" else tier, "store": body.get("store", True),
                "temperature": body.get("temperature", 1.0),
                "text": {"format": text_format, "verbosity": text.get("verbosity") or "medium"},
                "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
                "top_p": body.get("top_p", 1.0), "truncation": body.get("truncation") or "disabled", "usage": usage,
                "metadata": body.get("metadata") or {}, "completed_at": _now()}
        for key in ("user", "prompt", "prompt_cache_key", "safety_identifier"):
            if body.get(key) is not None:
                base[key] = body[key]
        if conversation_id:
            base["conversation"] = {"id": conversation_id}
            self._append_items(conversation_id, _input_items(body.get("input")) + output_items)
        if body.get("background"):
            if body.get("store") is False:
                raise _BadRequest("Background responses need store=true.", param="store")
            queued = {**{k: v for k, v in base.items() if k != "usage"}, "status": "queued", "output": [],
                      "completed_at": None, "_output": output_items, "_usage": usage}
            with self._lock:
                self.responses[response_id] = queued
            return JSONResponse(_public(queued))
        if body.get("store", True):
            with self._lock:
                self.responses[response_id] = base
        if not body.get("stream"):
            return JSONResponse(base)

        async def events() -> AsyncIterator[bytes]:
            seq = iter(range(1_000_000))

            def event(kind: str, **data: Any) -> bytes:
                return _sse({"type": kind, "sequence_number": next(seq), **data}, event=kind)

            pending = {**base, "status": "in_progress", "output": [], "usage": None}
            yield event("response.created", response=pending)
            yield event("response.in_progress", response=pending)
            for index, item in enumerate(output_items):
                if item["type"] == "message":
                    text = item["content"][0]["text"]
                    yield event("response.output_item.added", output_index=index,
                                item={**item, "status": "in_progress", "content": []})
                    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                    yield event("response.content_part.added", item_id=item["id"], output_index=index,
                                content_index=0, part=part)
                    for piece in _pieces(text):
                        await self._chunk_pause()
                        yield event("response.output_text.delta", item_id=item["id"], output_index=index,
                                    content_index=0, delta=piece, logprobs=[])
                    yield event("response.output_text.done", item_id=item["id"], output_index=index,
                                content_index=0, text=text, logprobs=[])
                    yield event("response.content_part.done", item_id=item["id"], output_index=index,
                                content_index=0, part={**part, "text": text})
                elif item["type"] != "function_call":  # hosted tool calls and reasoning: whole items
                    yield event("response.output_item.added", output_index=index, item=item)
                else:
                    yield event("response.output_item.added", output_index=index,
                                item={**item, "status": "in_progress", "arguments": ""})
                    arguments = item["arguments"]
                    for start in range(0, len(arguments), 8):
                        await self._chunk_pause()
                        yield event("response.function_call_arguments.delta", item_id=item["id"],
                                    output_index=index, delta=arguments[start:start + 8])
                    yield event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                arguments=arguments, name=item["name"])
                yield event("response.output_item.done", output_index=index, item=item)
            yield event("response.completed", response=base)

        return StreamingResponse(events(), media_type="text/event-stream")


def _question(body: dict[str, Any]) -> str:
    """The user's text: the input's last user message, else the stored prompt's variables."""
    raw_input = body.get("input")
    text = raw_input if isinstance(raw_input, str) else last_user_text(raw_input)
    if text:
        return text
    prompt = body.get("prompt") or {}
    variables = prompt.get("variables") or {}
    return f"prompt {prompt.get('id')}" + "".join(f" {k}={v}" for k, v in variables.items())


def _reasoning_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A reasoning item when reasoning was asked for (a summary when one was asked for)."""
    reasoning = body.get("reasoning") or {}
    if not reasoning.get("effort") and not reasoning.get("summary"):
        return []
    item: dict[str, Any] = {"id": _id("rs_"), "type": "reasoning", "summary": []}
    if reasoning.get("summary"):
        item["summary"] = [{"type": "summary_text",
                            "text": f"Thought about it with {reasoning.get('effort') or 'medium'} effort."}]
    if "reasoning.encrypted_content" in (body.get("include") or []):
        item["encrypted_content"] = "gAAAAfake-encrypted-reasoning"
    return [item]


def _input_items(raw: Any) -> list[dict[str, Any]]:
    """Request input as conversation items (a string becomes one user message)."""
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    items = []
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        if item.get("type", "message") == "message":
            content = item.get("content")
            parts = ([{"type": "input_text", "text": content}] if isinstance(content, str) else list(content or []))
            items.append({"id": _id("msg_"), "type": "message", "status": "completed",
                          "role": item.get("role", "user"), "content": parts})
        else:
            items.append({"id": item.get("id") or _id("item_"), **item})
    return items
