"""Chat Completions: answers (scripted, from the answerer, or echoed), streamed as SSE chunks."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

from starlette.responses import JSONResponse, Response, StreamingResponse

from .common import Call, _BadRequest, _id, _now, _pieces, _Reply, _sse, _tokens, last_user_text, schema_instance


class ChatRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"chat": "_route_chat"}

    async def _route_chat(self, call: Call) -> Response | None:
        if call.rest == ["completions"] and call.method == "POST":
            return await self._chat(call.body)
        return None

    def _chat_reply(self, body: dict[str, Any], index: int) -> _Reply:
        scripted = self._next_script("chat") if index == 0 else None
        if scripted is not None:
            return scripted
        answered = self._answer("chat", body)
        if answered is not None:
            return answered
        echo = last_user_text(body.get("messages"))
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_object":
            return _Reply(text=json.dumps({"echo": echo}))
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            return _Reply(text=json.dumps(schema_instance(schema, echo)))
        return _Reply(text=f"Echo: {echo}")

    async def _chat(self, body: dict[str, Any]) -> Response:
        if not body.get("model"):
            raise _BadRequest("you must provide a model parameter", param="model")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise _BadRequest("'messages' must be a non-empty array", param="messages")
        n = int(body.get("n") or 1)
        replies = [self._chat_reply(body, i) for i in range(n)]
        completion_id, created, model = _id("chatcmpl-"), _now(), body["model"]
        prompt_tokens = _tokens(body.get("messages"))
        completion_tokens = sum(_tokens(r.text) + sum(_tokens(c.arguments_json()) for c in r.calls) for r in replies)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens,
                 "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                               "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
        calls = [[{"id": c.call_id or _id("call_"), "type": "function",
                   "function": {"name": c.name, "arguments": c.arguments_json()}} for c in r.calls] for r in replies]
        if not body.get("stream"):
            choices = []
            for i, reply in enumerate(replies):
                message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None,
                                           "annotations": []}
                if calls[i]:
                    message["tool_calls"] = calls[i]
                choices.append({"index": i, "message": message, "logprobs": None,
                                "finish_reason": "tool_calls" if calls[i] else "stop"})
            return JSONResponse({"id": completion_id, "object": "chat.completion", "created": created, "model": model,
                                 "choices": choices, "usage": usage, "service_tier": "default",
                                 "system_fingerprint": "fp_fake"})
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            return _sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                         "system_fingerprint": "fp_fake", "choices": choices, **extra})

        async def events() -> AsyncIterator[bytes]:
            for i, reply in enumerate(replies):
                yield chunk([{"index": i, "delta": {"role": "assistant", "content": "" if reply.text is not None else None,
                                                     "refusal": None}, "logprobs": None, "finish_reason": None}])
                if reply.text is not None:
                    for piece in _pieces(reply.text):
                        await self._chunk_pause()
                        yield chunk([{"index": i, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}])
                for j, call in enumerate(calls[i]):
                    yield chunk([{"index": i, "delta": {"tool_calls": [
                        {"index": j, "id": call["id"], "type": "function",
                         "function": {"name": call["function"]["name"], "arguments": ""}}]},
                        "logprobs": None, "finish_reason": None}])
                    arguments = call["function"]["arguments"]
                    for start in range(0, len(arguments), 8):
                        await self._chunk_pause()
                        yield chunk([{"index": i, "delta": {"tool_calls": [
                            {"index": j, "function": {"arguments": arguments[start:start + 8]}}]},
                            "logprobs": None, "finish_reason": None}])
                yield chunk([{"index": i, "delta": {}, "logprobs": None,
                              "finish_reason": "tool_calls" if calls[i] else "stop"}])
            if include_usage:
                yield chunk([], usage=usage)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _chunk_pause(self) -> None:
        if self.stream_chunk_delay_ms and not (self._stopping is not None and self._stopping.is_set()):
            await asyncio.sleep(self.stream_chunk_delay_ms / 1000)
