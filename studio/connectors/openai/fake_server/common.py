"""What every family of fake routes shares: the models it knows, ids and clocks, answers derived
from the input (echoes, schema-fitting values), scripted replies, and OpenAI-shaped errors."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

API_PREFIX = "/v1"
DEFAULT_INVALID_KEYS = frozenset({"sk-invalid"})

MODELS = (
    ("gpt-4o", "system"), ("gpt-4o-mini", "system"), ("gpt-4.1", "system"), ("gpt-4.1-mini", "system"),
    ("gpt-3.5-turbo", "openai"), ("o4-mini", "system"), ("gpt-5", "system"), ("dall-e-2", "system"),
    ("dall-e-3", "system"), ("gpt-image-1", "system"), ("tts-1", "openai-internal"),
    ("gpt-4o-mini-tts", "system"), ("whisper-1", "openai-internal"), ("gpt-4o-transcribe", "system"),
    ("omni-moderation-latest", "system"), ("text-moderation-stable", "openai"),
    ("text-embedding-3-small", "system"),
)
MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
FLAG_WORDS = ("flag", "kill", "hate")
SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
                "wav": "audio/wav", "pcm": "audio/pcm"}


# --- public helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """A scripted function call: the model asks for `name` with `arguments`."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, call_id: str | None = None) -> ToolCall:
    return ToolCall(name, arguments if arguments is not None else {}, call_id)


# --- answers derived from the input ------------------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _tokens(value: Any) -> int:
    if value is None:
        return 0
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, len(text.split()))


def _text_of(content: Any) -> str:
    """Plain text of a message content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, dict):
                    text = text.get("value")
                if isinstance(text, str):
                    parts.append(text)
        return " ".join(parts)
    return "" if content is None else str(content)


def last_user_text(messages: Any) -> str:
    if isinstance(messages, str):
        return messages
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role", "user") == "user" and message.get("type", "message") == "message":
            return _text_of(message.get("content"))
    for message in reversed(messages or []):  # tool results and the like
        if isinstance(message, dict):
            return _text_of(message.get("content") or message.get("output"))
    return ""


def schema_instance(schema: Any, echo: str, depth: int = 0) -> Any:
    """A small value that fits a JSON schema (enough for structured-output tests)."""
    if not isinstance(schema, dict) or depth > 8:
        return echo
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return schema_instance(schema[key][0], echo, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: schema_instance(v, echo, depth + 1) for k, v in props.items()}
    if kind == "array":
        return [schema_instance(schema.get("items") or {}, echo, depth + 1)]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return echo


def _error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None,
           param: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": code}},
                        status_code=status, headers=headers)


def _masked(key: str) -> str:
    return (key[:3] if len(key) > 8 else "") + "*" * 6


class _Reply:
    """One model answer: text or tool calls."""

    def __init__(self, text: str | None = None, calls: list[ToolCall] | None = None) -> None:
        self.text = text
        self.calls = calls or []

    @classmethod
    def of(cls, output: Any) -> "_Reply":
        if isinstance(output, ToolCall):
            return cls(calls=[output])
        if isinstance(output, list) and output and all(isinstance(o, ToolCall) for o in output):
            return cls(calls=list(output))
        if isinstance(output, str):
            return cls(text=output)
        return cls(text=json.dumps(output))


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n").encode("utf-8")


def _pieces(text: str) -> list[str]:
    """Text split into token-like pieces (words with their spaces)."""
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words) if w or i < len(words) - 1] or [""]


class _BadRequest(Exception):
    def __init__(self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.param, self.code = message, status, param, code


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _clock(seconds: float, sep: str) -> str:
    whole = int(seconds)
    ms = int(round((seconds - whole) * 1000))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}{sep}{ms:03d}"



@dataclass
class Call:
    """One request as a route family sees it: the method, the path after the family's head
    ("/v1/threads/t1/runs" -> ["t1", "runs"]), the JSON body (or {}), and the recording."""

    method: str
    rest: list[str]
    body: dict[str, Any]
    record: Any  # RecordedRequest
    request: Request

    @property
    def query(self) -> dict[str, Any]:
        return self.record.query


def page(items: list[dict[str, Any]], query: dict[str, Any], *, default_limit: int = 20,
         default_order: str = "desc") -> JSONResponse:
    """A cursor page of `items` as OpenAI lists answer (order, after, before, limit)."""
    order = query.get("order") or default_order
    ordered = sorted(items, key=lambda x: (x.get("created_at", 0), x.get("_seq", 0)), reverse=order == "desc")
    after, before = query.get("after"), query.get("before")
    ids = [x["id"] for x in ordered]
    if after in ids:
        ordered = ordered[ids.index(after) + 1:]
    if before in ids:
        ordered = ordered[:ids.index(before)]
    limit = int(query.get("limit") or default_limit)
    shown = [{k: v for k, v in x.items() if not k.startswith("_")} for x in ordered[:limit]]
    return JSONResponse({"object": "list", "data": shown, "first_id": shown[0]["id"] if shown else None,
                         "last_id": shown[-1]["id"] if shown else None, "has_more": len(ordered) > limit})
