"""The "Simulated (offline)" connection: one process-wide fake OpenAI server, so the app can be
tried without a key or a network. Answers come a little slowly (and stream piece by piece) so a
run looks alive on the canvas.

Its model answers like a model would (`simulated_answer`, the fake server's answerer), so agent
flows show their real behaviour offline:

- function tools offered and no tool result since the last user message: it calls one of them
  (the one whose name and description best fit the user's text and the instructions), with
  arguments generated from the tool's JSON schema (required properties, types, enums, defaults,
  numbers and names taken from the user's text, "." for paths ...);
- after a tool result: it answers in text that quotes the result;
- a JSON schema output format (Responses `text.format`, Chat `response_format`): an object that
  validates against the schema; an enum (a Classify and Branch branch) takes the value whose name
  or description (a "- value: description" line of the instructions, or the schema's) shares the
  most words with the user's text;
- otherwise the fake server's usual "Echo: <text>".

Everything is deterministic: choices are seeded by the request (ids left out), and call ids are
derived from it, so the same flow gives the same run."""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from studio.connectors.openai.fake_server import FakeOpenAIServer, ToolCall

SIMULATED_CONNECTION_NAME = "Simulated (offline)"
SIMULATED_API_KEY = "simulated-offline-key"
SIMULATED_LATENCY_MS = 150
SIMULATED_CHUNK_DELAY_MS = 30
SIMULATED_KEPT_REQUESTS = 200  # for tests and diagnostics; every body kept would grow without end

_server: FakeOpenAIServer | None = None
_lock = threading.Lock()


def ensure_simulated_server() -> str:
    """Start the shared fake server if it is not running and return its base URL."""
    global _server
    with _lock:
        if _server is None or not _server.running:
            # It lives as long as the editor or `studio serve`: only its last requests are kept.
            _server = FakeOpenAIServer(latency_ms=SIMULATED_LATENCY_MS, stream_chunk_delay_ms=SIMULATED_CHUNK_DELAY_MS,
                                       answerer=simulated_answer, keep_requests=SIMULATED_KEPT_REQUESTS).start()
        return _server.base_url


def simulated_server() -> FakeOpenAIServer | None:
    """The running shared server, if any (for tests and diagnostics)."""
    return _server if _server is not None and _server.running else None


def stop_simulated_server() -> None:
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None


# --- the simulated model ---------------------------------------------------------------------------

HANDOFF_PREFIX = "transfer_to_"
STOP_WORDS = frozenset("""
a an and are as at be been but by can could did do does for from had has have he her his how i if in
into is it its me my no not of on or our please she should so than that the their them then there these
they this those to us was we were what when where which who why will with would you your yours hi hello
hey thanks thank use using tool tools answer call calls called need needs get make any all some one just
""".split())
ID_NAMES = ("id", "invoice", "order", "number", "code", "ref", "reference", "sku", "ticket", "account")
ENTITY_NAMES = ("city", "country", "place", "location", "name", "title", "company", "person", "user",
                "customer", "product", "language", "region", "destination")
TEXT_NAMES = ("reply", "answer", "response", "message", "summary", "text", "content", "output", "result",
              "body", "comment", "note", "notes", "details", "description")
REASON_NAMES = ("reason", "why", "justification", "rationale", "explanation")
QUERY_NAMES = ("query", "question", "q", "search", "prompt", "input", "keywords", "request", "topic", "subject")
PATH_NAMES = ("path", "dir", "directory", "folder", "file", "filename", "filepath", "root")
AMOUNT_NAMES = ("amount", "price", "cost", "total", "sum", "fee", "refund", "value", "balance")
COUNT_NAMES = ("count", "limit", "n", "k", "top", "max", "quantity", "size", "results", "number_of")
CURRENCY = r"(?:EUR|USD|GBP|CHF|JPY|euros?|dollars?|pounds?|€|\$|£)"


@dataclass
class _Conversation:
    """What a request asks, whichever API it came through."""

    user_text: str = ""
    instructions: str = ""
    tools: list[dict[str, Any]] = field(default_factory=list)  # {name, description, parameters}
    results: list[tuple[str, str]] = field(default_factory=list)  # (tool name, output) since the last user turn
    schema: dict[str, Any] | None = None
    tool_choice: Any = "auto"
    seed: int = 0


def _seed(body: dict[str, Any]) -> int:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in sorted(value.items())
                    if k not in ("id", "call_id", "tool_call_id", "previous_response_id")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    wanted = {k: body.get(k) for k in ("model", "instructions", "input", "messages", "tools", "text",
                                       "response_format", "tool_choice")}
    digest = hashlib.sha256(json.dumps(strip(wanted), sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return int(digest[:16], 16)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(t for t in (_text(p) for p in content) if t)
    if isinstance(content, dict):
        for key in ("text", "value", "output", "content"):
            if key in content:
                return _text(content[key])
    return ""


def _from_responses(body: dict[str, Any]) -> _Conversation:
    conv = _Conversation(instructions=str(body.get("instructions") or ""), tool_choice=body.get("tool_choice", "auto"))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "function" and tool.get("name"):
            conv.tools.append({"name": tool["name"], "description": str(tool.get("description") or ""),
                               "parameters": tool.get("parameters") or {}})
    items = body.get("input")
    items = [{"role": "user", "content": items}] if isinstance(items, str) else list(items or [])
    names: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") == "user":
            conv.user_text, conv.results = _text(item.get("content")), []
        elif kind == "message" and item.get("role") in ("system", "developer"):
            conv.instructions += "\n" + _text(item.get("content"))
        elif kind == "function_call":
            names[str(item.get("call_id"))] = str(item.get("name") or "")
        elif kind == "function_call_output":
            conv.results.append((names.get(str(item.get("call_id")), "the tool"), _text(item.get("output"))))
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        conv.schema = fmt["schema"]
    return conv


def _from_chat(body: dict[str, Any]) -> _Conversation:
    conv = _Conversation(tool_choice=body.get("tool_choice", "auto"))
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if isinstance(fn, dict) and fn.get("name"):
            conv.tools.append({"name": fn["name"], "description": str(fn.get("description") or ""),
                               "parameters": fn.get("parameters") or {}})
    if isinstance(conv.tool_choice, dict) and isinstance(conv.tool_choice.get("function"), dict):
        conv.tool_choice = {"type": "function", "name": conv.tool_choice["function"].get("name")}
    names: dict[str, str] = {}
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "user":
            conv.user_text, conv.results = _text(message.get("content")), []
        elif role in ("system", "developer"):
            conv.instructions += "\n" + _text(message.get("content"))
        elif role == "assistant":
            for call in message.get("tool_calls") or []:
                names[str(call.get("id"))] = str((call.get("function") or {}).get("name") or "")
        elif role == "tool":
            conv.results.append((names.get(str(message.get("tool_call_id")), "the tool"), _text(message.get("content"))))
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema" and isinstance((fmt.get("json_schema") or {}).get("schema"), dict):
        conv.schema = fmt["json_schema"]["schema"]
    return conv


def simulated_answer(kind: str, body: dict[str, Any]) -> Any:
    """The simulated model's answer to a Responses ("responses") or Chat Completions ("chat")
    request: a ToolCall, a dict (structured output), a text, or None for the server's echo."""
    conv = _from_responses(body) if kind == "responses" else _from_chat(body)
    if not conv.tools and conv.schema is None and not conv.results:
        return None  # plain text: the echo (cheap, so benchmarks against the CLI server measure the engine)
    conv.seed = _seed(body)
    rng = random.Random(conv.seed)
    handed_off = any(name.startswith(HANDOFF_PREFIX) for name, _ in conv.results)
    results = [(name, out) for name, out in conv.results if not name.startswith(HANDOFF_PREFIX)]
    tools = conv.tools
    choice = conv.tool_choice
    if choice == "none":
        tools = []
    elif isinstance(choice, dict) and choice.get("name"):
        tools = [t for t in tools if t["name"] == choice["name"]]
    if handed_off:  # the agent that took over answers (or uses its own tools), never hands back
        tools = [t for t in tools if not t["name"].startswith(HANDOFF_PREFIX)]
    if tools and not results:
        tool = _pick_tool(tools, conv, rng)
        arguments = SchemaFiller(tool.get("parameters") or {}, conv, rng).value()
        return ToolCall(tool["name"], arguments, call_id=f"call_sim{conv.seed:016x}")
    answer = _answer_text(conv, results)
    if conv.schema is not None:
        return SchemaFiller(conv.schema, conv, rng, answer=answer).value()
    return answer if results else None


def _answer_text(conv: _Conversation, results: list[tuple[str, str]]) -> str:
    if not results:
        return f"About \"{_clip(conv.user_text, 160)}\": here is my answer."
    parts = [f"{name} returned: {_clip(_readable(out), 400)}" for name, out in results]
    return "Here is what I found. " + " ".join(parts)


def _readable(output: str) -> str:
    """The text of a tool output (MCP results and flow tool results are JSON)."""
    try:
        data = json.loads(output)
    except (TypeError, ValueError):
        return str(output)
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                texts.append(value["text"])
            else:
                for v in value.values():
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return " ".join(texts) if texts else json.dumps(data)


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _stems(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text)).replace("_", " ").lower())
    return {w[:4] if len(w) > 4 else w.rstrip("s") for w in words if len(w) > 1 and w not in STOP_WORDS}


def _pick_tool(tools: list[dict[str, Any]], conv: _Conversation, rng: random.Random) -> dict[str, Any]:
    wanted = _stems(conv.user_text) | _stems(conv.instructions)

    def score(tool: dict[str, Any]) -> int:
        in_name, in_text = _stems(tool["name"]), _stems(tool["description"])
        return sum(2 if s in in_name else 1 if s in in_text else 0 for s in wanted)

    best = max(score(t) for t in tools)
    return rng.choice([t for t in tools if score(t) == best])


class SchemaFiller:
    """A value that validates against a JSON schema, filled from the conversation."""

    def __init__(self, root: dict[str, Any], conv: _Conversation, rng: random.Random, answer: str | None = None) -> None:
        self.root, self.conv, self.rng = root, conv, rng
        self.answer = answer or _answer_text(conv, [])

    def value(self) -> Any:
        return self.fill(self.root, "", 0)

    def resolve(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 16:
            target: Any = self.root
            for part in schema["$ref"].lstrip("#").split("/"):
                if part:
                    target = (target or {}).get(part.replace("~1", "/").replace("~0", "~"))
            schema = {**(target or {}), **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        if isinstance(schema, dict) and schema.get("allOf"):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged.setdefault("properties", {}).update(part.get("properties") or {})
                merged["required"] = sorted(set(merged.get("required") or []) | set(part.get("required") or []))
                for key, val in part.items():
                    merged.setdefault(key, val)
            schema = merged
        return schema if isinstance(schema, dict) else {}

    def fill(self, schema: Any, name: str, depth: int) -> Any:
        schema = self.resolve(schema)
        if depth > 12:
            return None
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self.pick_enum(list(schema["enum"]), schema, name)
        for key in ("anyOf", "oneOf"):
            options = [self.resolve(o) for o in schema.get(key) or []]
            if options:
                usable = [o for o in options if o.get("type") != "null"] or options
                return self.fill(usable[0], name, depth + 1)
        if schema.get("default") is not None and not isinstance(schema["default"], (dict, list)):
            return schema["default"]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            props = schema.get("properties") or {}
            return {key: self.fill(sub, key, depth + 1) for key, sub in props.items()}
        if kind == "array":
            count = max(1, int(schema.get("minItems") or 0))
            if schema.get("maxItems") is not None:
                count = min(count, int(schema["maxItems"]))
            items = self.resolve(schema.get("items") or {})
            if items.get("enum") and schema.get("uniqueItems"):
                return [items["enum"][i % len(items["enum"])] for i in range(min(count, len(items["enum"])))]
            return [self.fill(items, name, depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return self.number(schema, name, kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, name)

    # --- leaves -----------------------------------------------------------------------------------

    def pick_enum(self, values: list[Any], schema: dict[str, Any], name: str) -> Any:
        user = _stems(self.conv.user_text)
        described = {}
        for line in (self.conv.instructions or "").splitlines():
            match = re.match(r"\s*(?:[-*•]\s*)?([^:]+?)\s*[:=–-]\s+(.+)$", line)
            if match:
                described[match.group(1).strip().strip("`'\"").lower()] = match.group(2)

        def score(value: Any) -> int:
            words = _stems(str(value)) | _stems(described.get(str(value).lower(), ""))
            return len(user & words)

        best = max(score(v) for v in values)
        if best == 0:
            return self.rng.choice(values)
        return next(v for v in values if score(v) == best)

    def number(self, schema: dict[str, Any], name: str, integer: bool) -> int | float:
        words = set(re.split(r"[^a-z]+", name.lower())) | {name.lower()}
        text = self.conv.user_text
        found = [float(n.replace(",", ".")) for n in re.findall(r"(?<![\w.-])(\d+(?:[.,]\d+)?)(?![\w])", text)]
        value: float | None = None
        if words & set(AMOUNT_NAMES):
            near = re.findall(rf"{CURRENCY}\s*(\d+(?:[.,]\d+)?)|(\d+(?:[.,]\d+)?)\s*{CURRENCY}", text)
            money = [float((a or b).replace(",", ".")) for a, b in near]
            value = money[0] if money else (found[-1] if found else 10)
        elif words & set(COUNT_NAMES):
            small = [n for n in found if n <= 100]
            value = small[0] if small else 3
        else:  # no clue: the text's numbers in turn (a, b of "19 and 23"), else the smallest allowed
            turn = getattr(self, "_numbers_taken", 0)
            self._numbers_taken = turn + 1
            value = found[min(turn, len(found) - 1)] if found else 0
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        low = None if isinstance(low, bool) else low  # draft-4 style flags, not bounds
        high = None if isinstance(high, bool) else high
        step = 1 if integer else 0.5
        if isinstance(low, (int, float)) and (value < low or (value == low and "exclusiveMinimum" in schema)):
            value = low + (step if "exclusiveMinimum" in schema else 0)
        if isinstance(high, (int, float)) and (value > high or (value == high and "exclusiveMaximum" in schema)):
            value = high - (step if "exclusiveMaximum" in schema else 0)
        if integer:
            return int(round(value)) if not isinstance(low, (int, float)) or round(value) >= low else int(value) + 1
        return float(value)

    def string(self, schema: dict[str, Any], name: str) -> str:
        words = set(re.split(r"[^a-z]+", name.lower())) - {""} | {name.lower()}
        fmt = schema.get("format")
        text = self.conv.user_text
        if schema.get("examples"):
            value = str(schema["examples"][0])
        elif fmt == "email" or "email" in words:
            value = "someone@example.com"
        elif fmt in ("uri", "url") or words & {"url", "uri", "link", "href", "website"}:
            value = "https://example.com/"
        elif fmt == "date-time":
            value = "2026-01-01T09:00:00Z"
        elif fmt == "date" or "date" in words:
            value = "2026-01-01"
        elif fmt == "uuid":
            value = f"{self.rng.getrandbits(128):032x}"
            value = f"{value[:8]}-{value[8:12]}-4{value[13:16]}-8{value[17:20]}-{value[20:32]}"
        elif words & set(PATH_NAMES):
            value = "."
        elif words & set(ID_NAMES) and _code(text):
            value = _code(text)
        elif words & set(ENTITY_NAMES) and _proper_noun(text):
            value = _proper_noun(text)
        elif words & set(REASON_NAMES):
            value = f"Based on the request: {_clip(text, 160)}" if text else "Requested by the user."
        elif words & set(TEXT_NAMES):
            value = self.answer
        elif words & set(QUERY_NAMES):
            value = text or self.answer
        else:
            value = _clip(text, 120) if text else "example"
        low, high = int(schema.get("minLength") or 0), schema.get("maxLength")
        if isinstance(high, int) and len(value) > high:
            value = value[:high]
        if len(value) < low:
            value = value + "x" * (low - len(value))
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, value):
            for candidate in (_code(text), _proper_noun(text), *re.findall(r"\S+", text)):
                if candidate and re.search(pattern, candidate):
                    return candidate
        return value


def _code(text: str) -> str | None:
    """An identifier in the text: INV-42, A1234, or a number of 3 digits or more."""
    match = re.search(r"\b[A-Z]{1,6}[-_]?\d+\b", text) or re.search(r"\b\d{3,}\b", text)
    return match.group(0) if match else None


def _proper_noun(text: str) -> str | None:
    """The first capitalised word that does not start a sentence (a city, a name ...)."""
    for match in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ]+(?:\s+[A-Z][a-zà-ÿ]+)*)", text):
        word = match.group(1)
        if word.lower() not in STOP_WORDS and match.start() > 0:
            return word
    return None
