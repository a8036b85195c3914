"""Responses: answers as output items (messages, function calls), streamed as typed events."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from starlette.responses import JSONResponse, Response, StreamingResponse

from .common import Call, _BadRequest, _id, _now, _pieces, _Reply, _sse, _tokens, last_user_text, schema_instance


class ResponsesRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"responses": "_route_responses"}

    async def _route_responses(self, call: Call) -> Response | None:
        if not call.rest and call.method == "POST":
            return await self._responses(call.body)
        return None

    def _response_reply(self, body: dict[str, Any]) -> _Reply:
        scripted = self._next_script("responses")
        if scripted is not None:
            return scripted
        answered = self._answer("responses", body)
        if answered is not None:
            return answered
        raw_input = body.get("input")
        echo = last_user_text(raw_input) if not isinstance(raw_input, str) else raw_input
        fmt = (body.get("text") or {}).get("format") or {}
        if fmt.get("type") == "json_object":
            return _Reply(text=json.dumps({"echo": echo}))
        if fmt.get("type") == "json_schema":
            return _Reply(text=json.dumps(schema_instance(fmt.get("schema"), echo)))
        return _Reply(text=f"Echo: {echo}")

    async def _responses(self, body: dict[str, Any]) -> Response:
        if not body.get("model"):
            raise _BadRequest("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
        if body.get("input") in (None, "", []):
            raise _BadRequest("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
        reply = self._response_reply(body)
        response_id = _id("resp_")
        input_tokens = _tokens(body.get("input")) + _tokens(body.get("instructions"))
        output_items: list[dict[str, Any]] = []
        if reply.text is not None:
            output_items.append({"id": _id("msg_"), "type": "message", "status": "completed", "role": "assistant",
                                 "content": [{"type": "output_text", "text": reply.text, "annotations": [],
                                              "logprobs": []}]})
        for call in reply.calls:
            output_items.append({"id": _id("fc_"), "type": "function_call", "status": "completed",
                                 "call_id": call.call_id or _id("call_"), "name": call.name,
                                 "arguments": call.arguments_json()})
        output_tokens = sum(_tokens(i.get("arguments") or i.get("content", [{}])[0].get("text")) for i in output_items)
        usage = {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": input_tokens + output_tokens}
        text_format = (body.get("text") or {}).get("format") or {"type": "text"}
        base = {"id": response_id, "object": "response", "created_at": _now(), "status": "completed",
                "background": False, "error": None, "incomplete_details": None,
                "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
                "model": body["model"], "output": output_items, "parallel_tool_calls": True,
                "previous_response_id": body.get("previous_response_id"), "reasoning": {"effort": None, "summary": None},
                "service_tier": "default", "store": body.get("store", True),
                "temperature": body.get("temperature", 1.0), "text": {"format": text_format},
                "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
                "top_p": body.get("top_p", 1.0), "truncation": "disabled", "usage": usage,
                "user": body.get("user"), "metadata": body.get("metadata") or {}}
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
