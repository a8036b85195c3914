"""Assistants, threads, messages and runs (the deprecated Assistants API), kept in memory."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from .common import Call, _BadRequest, _error, _id, _now, _public, _text_of, _tokens, page


class AssistantsRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"assistants": "_route_assistants", "threads": "_route_threads"}

    async def _route_assistants(self, call: Call) -> Response | None:
        return self._assistants(call.method, call.rest, call.body, call.query)

    async def _route_threads(self, call: Call) -> Response | None:
        return self._threads(call.method, call.rest, call.body, call.query)

    def _assistants(self, method: str, rest: list[str], body: dict[str, Any], query: dict[str, Any]) -> Response:
        if not rest and method == "POST":
            if not body.get("model"):
                raise _BadRequest("Missing required parameter: 'model'.", param="model")
            assistant = {"id": _id("asst_"), "object": "assistant", "created_at": _now(), "name": None,
                         "description": None, "model": body["model"], "instructions": None, "tools": [],
                         "tool_resources": {}, "metadata": {}, "temperature": 1.0, "top_p": 1.0,
                         "response_format": "auto", "reasoning_effort": None, "_seq": self._next_seq()}
            assistant.update({k: v for k, v in body.items() if k in assistant and v is not None})
            with self._lock:
                self.assistants[assistant["id"]] = assistant
            return JSONResponse(_public(assistant))
        if not rest and method == "GET":
            return page(list(self.assistants.values()), query)
        if not rest:
            return _error(405, f"Invalid method {method} for /assistants")
        assistant = self.assistants.get(rest[0])
        if assistant is None or len(rest) > 1:
            return _error(404, f"No assistant found with id '{rest[0]}'.")
        if method == "GET":
            return JSONResponse(_public(assistant))
        if method == "POST":
            with self._lock:
                assistant.update({k: v for k, v in body.items() if k in assistant and k != "id"})
            return JSONResponse(_public(assistant))
        if method == "DELETE":
            with self._lock:
                self.assistants.pop(rest[0], None)
            return JSONResponse({"id": rest[0], "object": "assistant.deleted", "deleted": True})
        return _error(405, f"Invalid method {method} for /assistants/{rest[0]}")

    # --- threads, messages, runs ----------------------------------------------------------------

    def _message(self, thread_id: str, role: str, content: Any, *, run_id: str | None = None,
                 assistant_id: str | None = None, attachments: Any = None, metadata: Any = None) -> dict[str, Any]:
        if isinstance(content, str):
            parts = [{"type": "text", "text": {"value": content, "annotations": []}}]
        else:
            parts = []
            for part in content or []:
                if isinstance(part, dict) and part.get("type") == "text":
                    parts.append({"type": "text", "text": {"value": _text_of([part]), "annotations": []}})
                elif isinstance(part, dict):
                    parts.append(part)
        now = _now()
        message = {"id": _id("msg_"), "object": "thread.message", "created_at": now, "assistant_id": assistant_id,
                   "thread_id": thread_id, "run_id": run_id, "role": role, "content": parts,
                   "attachments": attachments or [], "metadata": metadata or {}, "status": "completed",
                   "incomplete_details": None, "completed_at": now, "incomplete_at": None,
                   "_seq": self._next_seq()}
        with self._lock:
            self.messages.setdefault(thread_id, []).append(message)
        return message

    def _threads(self, method: str, rest: list[str], body: dict[str, Any], query: dict[str, Any]) -> Response:
        if not rest and method == "POST":
            thread = {"id": _id("thread_"), "object": "thread", "created_at": _now(),
                      "metadata": body.get("metadata") or {}, "tool_resources": body.get("tool_resources") or {}}
            with self._lock:
                self.threads[thread["id"]] = thread
                self.messages[thread["id"]] = []
            for item in body.get("messages") or []:
                self._message(thread["id"], item.get("role", "user"), item.get("content"),
                              attachments=item.get("attachments"), metadata=item.get("metadata"))
            return JSONResponse(thread)
        if not rest:
            return _error(405, f"Invalid method {method} for /threads")
        thread = self.threads.get(rest[0])
        if thread is None:
            return _error(404, f"No thread found with id '{rest[0]}'.")
        thread_id = rest[0]
        if len(rest) == 1:
            if method == "GET":
                return JSONResponse(thread)
            if method == "POST":
                with self._lock:
                    if "metadata" in body:
                        thread["metadata"] = body["metadata"] or {}
                    if "tool_resources" in body:
                        thread["tool_resources"] = body["tool_resources"] or {}
                return JSONResponse(thread)
            if method == "DELETE":
                with self._lock:
                    self.threads.pop(thread_id, None)
                return JSONResponse({"id": thread_id, "object": "thread.deleted", "deleted": True})
        if rest[1] == "messages" and len(rest) == 2:
            if method == "POST":
                if body.get("role") not in ("user", "assistant") or body.get("content") in (None, "", []):
                    raise _BadRequest("A message needs a role (user or assistant) and content.", param="content")
                message = self._message(thread_id, body["role"], body["content"],
                                        attachments=body.get("attachments"), metadata=body.get("metadata"))
                return JSONResponse(_public(message))
            if method == "GET":
                items = self.messages.get(thread_id, [])
                if query.get("run_id"):
                    items = [m for m in items if m["run_id"] == query["run_id"]]
                return page(items, query)
        if rest[1] == "runs":
            return self._runs(method, thread_id, rest[2:], body, query)
        return _error(404, f"Invalid URL ({method} /v1/threads/{'/'.join(rest)})")

    def _runs(self, method: str, thread_id: str, rest: list[str], body: dict[str, Any],
              query: dict[str, Any]) -> Response:
        if not rest and method == "POST":
            assistant = self.assistants.get(body.get("assistant_id") or "")
            if assistant is None:
                return _error(404, f"No assistant found with id '{body.get('assistant_id')}'.")
            now = _now()
            run = {"id": _id("run_"), "object": "thread.run", "created_at": now, "assistant_id": assistant["id"],
                   "thread_id": thread_id, "status": "queued", "started_at": None, "expires_at": now + 600,
                   "cancelled_at": None, "failed_at": None, "completed_at": None, "required_action": None,
                   "last_error": None, "model": body.get("model") or assistant["model"],
                   "instructions": body.get("instructions") or assistant.get("instructions") or "",
                   "tools": body["tools"] if "tools" in body else assistant.get("tools", []),
                   "metadata": body.get("metadata") or {}, "usage": None, "temperature": assistant.get("temperature"),
                   "top_p": assistant.get("top_p"), "max_prompt_tokens": None, "max_completion_tokens": None,
                   "truncation_strategy": {"type": "auto", "last_messages": None}, "incomplete_details": None,
                   "response_format": "auto", "tool_choice": "auto", "parallel_tool_calls": True,
                   "_seq": self._next_seq()}
            with self._lock:
                self.runs[run["id"]] = run
                self.run_steps[run["id"]] = []
            return JSONResponse(_public(run))
        if not rest and method == "GET":
            return page([r for r in self.runs.values() if r["thread_id"] == thread_id], query)
        run = self.runs.get(rest[0]) if rest else None
        if run is None or run["thread_id"] != thread_id:
            return _error(404, f"No run found with id '{rest[0] if rest else ''}'.")
        if len(rest) == 1 and method == "GET":
            self._advance(run)
            return JSONResponse(_public(run))
        if rest[1:] == ["cancel"] and method == "POST":
            if run["status"] in ("completed", "failed", "cancelled", "expired", "incomplete"):
                raise _BadRequest(f"Cannot cancel run with status '{run['status']}'.")
            run.update(status="cancelled", cancelled_at=_now())
            return JSONResponse(_public(run))
        if rest[1:] == ["steps"] and method == "GET":
            return page(self.run_steps.get(run["id"], []), query)
        return _error(404, f"Invalid URL ({method} /v1/threads/{thread_id}/runs/{'/'.join(rest)})")

    def _advance(self, run: dict[str, Any]) -> None:
        """Each look at a run moves it one step: queued -> in_progress -> completed (with a reply)."""
        with self._lock:
            if run["status"] == "queued":
                run.update(status="in_progress", started_at=_now())
                return
            if run["status"] != "in_progress":
                return
            history = [m for m in self.messages.get(run["thread_id"], []) if m["role"] == "user"]
        question = " ".join(p["text"]["value"] for p in (history[-1]["content"] if history else [])
                            if p.get("type") == "text")
        reply = self._next_script("chat")
        text = reply.text if reply is not None and reply.text is not None else f"Echo: {question}"
        message = self._message(run["thread_id"], "assistant", text, run_id=run["id"],
                                assistant_id=run["assistant_id"])
        prompt, completion = _tokens(question), _tokens(text)
        now = _now()
        step = {"id": _id("step_"), "object": "thread.run.step", "created_at": now, "run_id": run["id"],
                "assistant_id": run["assistant_id"], "thread_id": run["thread_id"], "type": "message_creation",
                "status": "completed", "cancelled_at": None, "completed_at": now, "expired_at": None,
                "failed_at": None, "last_error": None, "metadata": {},
                "step_details": {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}, "_seq": self._next_seq()}
        with self._lock:
            self.run_steps.setdefault(run["id"], []).append(step)
            run.update(status="completed", completed_at=now, usage=dict(step["usage"]))
