"""The Chat trigger's conversation: each message the user sends runs the flow once, and the reply
is the output of the node the trigger names (`Reply Node`). Earlier turns travel with every run in
the payload, so expressions can use them:

- `{{ trigger.chatInput }}`: this message;
- `{{ trigger.history }}`: earlier turns as `[{"role": "user"|"assistant", "content": ...}]`;
- `{{ trigger.messages }}`: the earlier turns plus this message, ready for a chat completion.

No Qt here: the editor's chat panel and tests drive the same session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from studio.flow.models import Flow, Node

RunFlow = Callable[[Flow, Any], Awaitable[Any]]
"""Runs the flow with a trigger payload and returns the engine's RunResult."""


class ChatError(RuntimeError):
    """A turn that produced no reply; the message says which node and why."""


@dataclass
class ChatTurn:
    role: str
    content: str
    run_id: str | None = None


def reply_text(output: Any) -> str:
    """The text a user should see from a node's output: a chat completion's or a response's text,
    an agent's final output, or the value itself."""
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        choices = output.get("choices")
        if isinstance(choices, list) and choices:
            message = choices[0].get("message") if isinstance(choices[0], dict) else None
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                return message["content"]
        for key in ("output_text", "final_output", "text", "content", "reply", "message"):
            value = output.get(key)
            if isinstance(value, str):
                return value
    import json

    return json.dumps(output, ensure_ascii=False, default=str)


def chat_trigger(flow: Flow) -> Node:
    triggers = [n for n in flow.nodes if n.action == "trigger.chat"]
    if not triggers:
        raise ChatError(f"flow {flow.name!r} has no Chat trigger")
    return triggers[0]


@dataclass
class ChatSession:
    """One conversation with a flow whose trigger is a Chat trigger."""

    flow: Flow
    run: RunFlow
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    turns: list[ChatTurn] = field(default_factory=list)

    @property
    def reply_node(self) -> Node:
        trigger = chat_trigger(self.flow)
        name = str(trigger.values.get("reply_node") or "").strip()
        if not name:
            raise ChatError(f"{trigger.name}: 'Reply Node' is required (the node whose output is the reply)")
        for node in self.flow.nodes:
            if node.name == name or node.id == name:
                return node
        raise ChatError(f"{trigger.name}: 'Reply Node' names {name!r}, which is not a node of this flow")

    def payload(self, message: str) -> dict[str, Any]:
        history = [{"role": t.role, "content": t.content} for t in self.turns]
        return {
            "chatInput": message,
            "sessionId": self.session_id,
            "history": history,
            "messages": history + [{"role": "user", "content": message}],
        }

    async def send(self, message: str) -> str:
        """Run the flow for `message`; the reply is kept as the next turn and returned. A failed
        run keeps the user's message out of the history so the turn can be sent again."""
        reply_node = self.reply_node
        result = await self.run(self.flow, self.payload(message))
        entry = result.nodes.get(reply_node.id)
        if entry is None or entry.status not in ("succeeded", "skipped") or entry.output is None:
            why = (entry.error or {}).get("message") if entry is not None and entry.error else None
            state = entry.status if entry is not None else "not run"
            raise ChatError(f"no reply: {reply_node.name} {state}" + (f" ({why})" if why else ""))
        reply = reply_text(entry.output)
        self.turns.append(ChatTurn("user", message, result.run_id))
        self.turns.append(ChatTurn("assistant", reply, result.run_id))
        return reply
