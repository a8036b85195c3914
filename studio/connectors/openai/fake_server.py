"""A fake OpenAI-compatible HTTP server on 127.0.0.1, for tests, the "Simulated (offline)"
connection and the packaged app's self-test. It answers every endpoint the action handlers use,
shaped like the real API, keeps files/assistants/threads in memory, and can be told to fail.

It is a real server (starlette served by uvicorn on its own event loop in a background thread),
so the real SDK, connection pooling, timeouts, retries and hundreds of overlapping slow requests
are exercised exactly as against api.openai.com.

    with FakeOpenAIServer(latency_ms=0) as server:
        settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url)
        ...
        server.requests[-1].json        # what the last request sent

Auth: any `Authorization: Bearer <key>` works except keys in `server.invalid_keys` (default
{"sk-invalid"}) and a missing header, which get OpenAI's 401 `invalid_api_key` error.

Default answers echo the input so tests can follow data through a flow:
chat and responses answer "Echo: <last user text>" (JSON mode: {"echo": <text>}; a JSON schema
format: a minimal object that fits the schema), moderations flag texts containing "flag", "kill"
or "hate", transcriptions return the uploaded file's text (non-text audio: a sentence naming the
file), assistant runs reply "Echo: <last user message>".

Scripting model outputs (for agent tests): `server.script(kind, *outputs)` queues canned answers.
`kind` is "responses" (POST /v1/responses), "chat" (POST /v1/chat/completions) or "any" (whichever
of the two asks next; a kind's own queue is used first). Each queued output answers one request:

    server.script("responses", tool_call("get_weather", {"city": "Paris"}), "It is sunny.")
    server.script("chat", {"answer": 42})          # structured output: the JSON text of the dict
    server.script("any", [tool_call("a", {}), tool_call("b", {"x": 1})])   # two calls at once

  - a `str`: the assistant's text;
  - `tool_call(name, arguments, call_id=None)`: one function call (arguments a dict or JSON text);
    in Responses a `function_call` output item, in Chat a `tool_calls` entry (finish_reason
    "tool_calls");
  - a list of tool calls: several calls in one answer;
  - any other dict or list: its JSON text (structured output).
Streaming requests stream scripted outputs the same way. `server.scripted` shows what is left.

Answerer: `FakeOpenAIServer(answerer=fn)` (or `server.answerer = fn`) answers chat/responses
requests nothing is scripted for: `fn(kind, body)` returns an output as above, or None for the
default answer. The "Simulated (offline)" connection and this module's CLI use
`studio.connectors.openai.simulated.simulated_answer`, a model-like answerer (calls offered tools
with schema-generated arguments, answers from tool results, fills JSON schemas).

Faults: `server.fail_next(status=429, count=1, retry_after=None, retry_after_ms=None, path=None)`
queues failures (status 0 drops the connection; `path` limits them to requests whose path contains
it); `server.faults = FaultRates(rate_429=.1, ..., seed=1)` fails requests at random at set rates
(dropped = the connection is closed without an answer; slow = `slow_ms` extra delay);
`server.latency_ms` delays every answer (settable while running).
Stream faults: `server.fail_stream_next(mode, after=2, count=1, pause_ms=0, path=None)` spoils the
next streamed answer(s) after `after` events: "truncate" ends it (with `data: [DONE]`) before any
finish reason / response.completed, "malformed" sends a chunk that is not JSON, "drop" closes the
connection mid-stream, "stall" pauses `pause_ms` before going on.

Images: `server.image_format` ("png", "jpeg", "gif", "webp", "svg"; None: the requested
output_format, else PNG) picks the bytes Create Image answers with, and `server.image_data_urls`
answers `url` with a `data:` URL instead of a link to the server.

Recording: `server.requests` holds a RecordedRequest per request (including failed ones: see
`.fault`); `server.requests_to("/chat/completions")` filters them by path; `server.in_flight` /
`server.max_in_flight` count concurrent requests (a slow answer stops counting once its client
hangs up); `server.wait_idle()` waits for none in flight; `server.reset()` clears requests,
queues, scripts, faults and stored objects (files, assistants, threads, runs).

CLI: `python -m studio.connectors.openai.fake_server --port 0 --latency-ms 50` prints the base URL
as its first line and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import random
import signal
import struct
import sys
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from studio.connectors.openai.fake_embeddings import EmbeddingRequestError, embeddings_response

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


@dataclass
class FaultRates:
    """Random failures at set rates (each a probability per request, checked in this order)."""

    rate_429: float = 0.0
    rate_429_retry_after: float = 0.0  # 429 carrying retry-after-ms: `retry_after_ms`
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_ms: int = 2000
    retry_after_ms: int = 20
    seed: int | None = None
    path: str | None = None  # only requests whose path contains this

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """The fault for one request: "429", "429ra", "500", "503", "drop", "slow" or None."""
        with self._lock:
            r = self._rng.random()
        edge = 0.0
        for kind, rate in (("429", self.rate_429), ("429ra", self.rate_429_retry_after), ("500", self.rate_500),
                           ("503", self.rate_503), ("drop", self.rate_drop), ("slow", self.rate_slow)):
            edge += rate
            if r < edge:
                return kind
        return None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    content: bytes = b""
    fault: str | None = None  # what the server did instead of answering ("429", "drop" ...)
    file_bytes: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def api_path(self) -> str:
        """The path without the /v1 prefix ("/chat/completions")."""
        return self.path[len(API_PREFIX):] if self.path.startswith(API_PREFIX + "/") else self.path

    def __repr__(self) -> str:  # the Authorization header never prints
        return (f"RecordedRequest({self.method} {self.path}, json={self.json!r}, form={self.form!r}, "
                f"files={self.files!r}, query={self.query!r}, fault={self.fault!r})")


@dataclass
class _StreamFault:
    mode: str  # "truncate", "malformed", "drop" or "stall"
    after: int
    count: int
    pause_ms: float
    path: str | None


STREAM_FAULTS = ("truncate", "malformed", "drop", "stall")


@dataclass
class _QueuedFault:
    status: int
    count: int
    retry_after: float | None
    retry_after_ms: int | None
    path: str | None
    message: str | None


# --- small real payloads ---------------------------------------------------------------------------


def tiny_png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A valid PNG image of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# Small files of each image type Create Image may answer with (only their first bytes matter).
IMAGE_SAMPLES: dict[str, tuple[bytes, str]] = {
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9", "image/jpeg"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
            b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "image/gif"),
    "webp": (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00",
             "image/webp"),
    "svg": (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
            b'<rect width="4" height="4" fill="#2878c8"/></svg>\n', "image/svg+xml"),
}


def image_sample(fmt: str) -> tuple[bytes, str]:
    """(bytes, media type) of a small image in `fmt` ("png", "jpeg"/"jpg", "gif", "webp", "svg")."""
    fmt = "jpeg" if fmt == "jpg" else fmt
    return IMAGE_SAMPLES.get(fmt) or (tiny_png(), "image/png")


def _wav(samples: int) -> bytes:
    data = b"\x00\x00" * samples
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, 24000, 48000, 2, 16) + b"data" + struct.pack("<I", len(data)) + data)


def speech_bytes(text: str, fmt: str) -> bytes:
    """Audio-looking bytes whose length grows with the text (a real WAV for "wav")."""
    body = text.encode("utf-8")
    if fmt == "wav":
        return _wav(240 * max(1, len(text)))
    magic = {"mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00", "opus": b"OggS\x00\x02", "aac": b"\xff\xf1\x50\x80",
             "flac": b"fLaC\x00\x00\x00\x22", "pcm": b""}.get(fmt, b"")
    return magic + body + b"\x00" * 64


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


# --- the server ------------------------------------------------------------------------------------


class FakeOpenAIServer:
    def __init__(self, latency_ms: float = 0, *, host: str = "127.0.0.1", port: int = 0,
                 invalid_keys: set[str] | frozenset[str] | None = None, stream_chunk_delay_ms: float = 0,
                 answerer: Callable[[str, dict[str, Any]], Any] | None = None) -> None:
        self.host, self.port = host, port
        # Answers unscripted chat/responses requests (see the module docstring); None: echo.
        self.answerer = answerer
        self.latency_ms = latency_ms
        self.stream_chunk_delay_ms = stream_chunk_delay_ms
        self.invalid_keys: set[str] = set(DEFAULT_INVALID_KEYS if invalid_keys is None else invalid_keys)
        self.faults: FaultRates | None = None
        self.image_format: str | None = None
        self.image_data_urls = False
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.RLock()
        self._queued: list[_QueuedFault] = []
        self._stream_faults: list[_StreamFault] = []
        self._scripts: dict[str, list[Any]] = {"responses": [], "chat": [], "any": []}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._startup_error: BaseException | None = None
        self._stopping: asyncio.Event | None = None  # made on the server's loop; set by stop()
        self._clear_state()
        self.app = self._build_app()

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "FakeOpenAIServer":
        if self.running:
            return self
        ready = threading.Event()
        config = uvicorn.Config(self._asgi, host=self.host, port=self.port, log_level="warning", access_log=False,
                                lifespan="off", interface="asgi3", http="h11", backlog=4096, timeout_keep_alive=30,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            task = loop.create_task(self._server.serve())

            async def wait_started() -> None:
                while not self._server.started and not task.done():
                    await asyncio.sleep(0.005)
                if self._server.started:
                    self.port = self._server.servers[0].sockets[0].getsockname()[1]
                ready.set()

            try:
                loop.run_until_complete(wait_started())
                loop.run_until_complete(task)
            except BaseException as exc:  # a bind error: reported by start()
                self._startup_error = exc
            finally:
                ready.set()
                try:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    loop.close()

        self._startup_error = None
        self._stopping = None
        self._thread = threading.Thread(target=serve, name="fake-openai-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        if not self._server.started:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"fake OpenAI server could not start on {self.host}:{self.port}: {self._startup_error}")
        return self

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- test controls --------------------------------------------------------------------------

    def fail_next(self, status: int = 429, count: int = 1, retry_after: float | None = None,
                  retry_after_ms: int | None = None, path: str | None = None, message: str | None = None) -> None:
        """Answer the next `count` requests (whose path contains `path`, if given) with `status`
        (0 = drop the connection), with Retry-After / retry-after-ms headers when given."""
        with self._lock:
            self._queued.append(_QueuedFault(status, count, retry_after, retry_after_ms, path, message))

    def fail_stream_next(self, mode: str, *, after: int = 2, count: int = 1, pause_ms: float = 0,
                         path: str | None = None) -> None:
        """Spoil the next `count` streamed answers (whose path contains `path`, if given) after
        `after` events: "truncate", "malformed", "drop" or "stall" (see the module docstring)."""
        if mode not in STREAM_FAULTS:
            raise ValueError(f"stream fault must be one of {', '.join(STREAM_FAULTS)}, got {mode!r}")
        with self._lock:
            self._stream_faults.append(_StreamFault(mode, after, count, pause_ms, path))

    def script(self, kind: str, *outputs: Any) -> None:
        """Queue canned model outputs (see the module docstring)."""
        if kind not in self._scripts:
            raise ValueError(f"script kind must be one of {', '.join(self._scripts)}, got {kind!r}")
        with self._lock:
            self._scripts[kind].extend(outputs)

    @property
    def scripted(self) -> dict[str, list[Any]]:
        with self._lock:
            return {k: list(v) for k, v in self._scripts.items()}

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queued.clear()
            self._stream_faults.clear()
            self.image_format = None
            self.image_data_urls = False
            for queue in self._scripts.values():
                queue.clear()
            self.faults = None
            self.max_in_flight = self.in_flight
            self._clear_state()

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Wait until no request is in flight (e.g. ones a cancelled test left behind)."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.in_flight == 0

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path (without /v1) is `path` (or starts with it, given "/x/*")."""
        with self._lock:
            found = list(self.requests)
        prefix = path[:-1] if path.endswith("*") else None
        return [r for r in found
                if (r.api_path.startswith(prefix) if prefix else r.api_path == path)
                and (method is None or r.method == method.upper())]

    def _clear_state(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.file_contents: dict[str, bytes] = {}
        self.assistants: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.run_steps: dict[str, list[dict[str, Any]]] = {}
        self.images: dict[str, tuple[bytes, str]] = {}

    def _answer(self, kind: str, body: dict[str, Any]) -> _Reply | None:
        output = self.answerer(kind, body) if self.answerer is not None else None
        return None if output is None else _Reply.of(output)

    def _next_script(self, kind: str) -> _Reply | None:
        with self._lock:
            for queue in (self._scripts[kind], self._scripts["any"]):
                if queue:
                    return _Reply.of(queue.pop(0))
        return None

    # --- the ASGI wrapper: counting, recording, auth, faults, latency -----------------------------

    async def _asgi(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        # uvicorn's receive is a method of the request cycle, which holds the socket's transport:
        # kept so a "dropped connection" fault can close it without answering.
        scope["fake.transport"] = getattr(getattr(receive, "__self__", None), "transport", None)
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _build_app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return Starlette(routes=[
            Route("/_fake/images/{name}", self._image_file, methods=["GET"]),
            Route("/{path:path}", self._dispatch, methods=methods),
        ])

    async def _image_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        image = self.images.get(name)
        if image is None:
            return PlainTextResponse("not found", 404)
        return Response(image[0], media_type=image[1])

    async def _record(self, request: Request) -> RecordedRequest:
        content = await request.body()
        ctype = request.headers.get("content-type", "")
        record = RecordedRequest(method=request.method, path=request.url.path, headers=dict(request.headers),
                                 query=dict(request.query_params), content=content)
        if ctype.startswith("multipart/form-data") or ctype.startswith("application/x-www-form-urlencoded"):
            form = await request.form()
            for key, value in form.multi_items():
                if hasattr(value, "filename") and hasattr(value, "read"):
                    data = await value.read()
                    record.files[key] = (value.filename or "", len(data))
                    record.file_bytes[key] = data
                elif key in record.form:
                    existing = record.form[key]
                    record.form[key] = (existing if isinstance(existing, list) else [existing]) + [value]
                else:
                    record.form[key] = value
        elif content:
            try:
                record.json = json.loads(content)
            except ValueError:
                record.json = None
        with self._lock:
            self.requests.append(record)
        return record

    def _fault_for(self, path: str) -> tuple[str | None, _QueuedFault | None]:
        with self._lock:
            for queued in self._queued:
                if queued.path is None or queued.path in path:
                    queued.count -= 1
                    if queued.count <= 0:
                        self._queued.remove(queued)
                    return "queued", queued
        rates = self.faults
        if rates is not None and (rates.path is None or rates.path in path):
            return rates.draw(), None
        return None, None

    async def _dispatch(self, request: Request) -> Response:
        record = await self._record(request)
        path = request.url.path
        kind, queued = self._fault_for(path)
        delay = float(self.latency_ms or 0)
        if kind == "slow" and self.faults is not None:
            delay += self.faults.slow_ms
        if delay > 0:
            await self._pause(request, delay / 1000)
        if kind == "queued" and queued is not None:
            record.fault = str(queued.status or "drop")
            if queued.status == 0:
                return await self._drop(request)
            headers = {}
            if queued.retry_after is not None:
                headers["retry-after"] = f"{queued.retry_after:g}"
            if queued.retry_after_ms is not None:
                headers["retry-after-ms"] = str(queued.retry_after_ms)
            return self._fault_response(queued.status, queued.message, headers)
        if kind in {"429", "429ra", "500", "503"}:
            record.fault = kind
            headers = {}
            if kind == "429ra" and self.faults is not None:
                headers["retry-after-ms"] = str(self.faults.retry_after_ms)
                headers["retry-after"] = str(max(1, math.ceil(self.faults.retry_after_ms / 1000)))
            return self._fault_response(int(kind[:3]), None, headers)
        if kind == "drop":
            record.fault = "drop"
            return await self._drop(request)
        if kind == "slow":
            record.fault = "slow"
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        if not path.startswith(API_PREFIX + "/"):
            return _error(404, f"Invalid URL ({request.method} {path})")
        try:
            response = await self._route(request, record, path[len(API_PREFIX):])
        except _BadRequest as exc:
            return _error(exc.status, exc.message, param=exc.param, code=exc.code)
        if isinstance(response, StreamingResponse):
            stream_fault = self._stream_fault_for(path)
            if stream_fault is not None:
                record.fault = f"stream_{stream_fault.mode}"
                response.body_iterator = self._spoiled(response.body_iterator, stream_fault, request)
        return response

    def _stream_fault_for(self, path: str) -> _StreamFault | None:
        with self._lock:
            for queued in self._stream_faults:
                if queued.path is None or queued.path in path:
                    queued.count -= 1
                    if queued.count <= 0:
                        self._stream_faults.remove(queued)
                    return queued
        return None

    async def _spoiled(self, events: AsyncIterator[bytes], fault: _StreamFault,
                       request: Request) -> AsyncIterator[bytes]:
        """The stream's events, spoiled after `fault.after` of them."""
        sent = 0
        async for event in events:
            if sent == fault.after:
                if fault.mode == "truncate":  # ends as if complete, but nothing said it was finished
                    yield b"data: [DONE]\n\n"
                    return
                if fault.mode == "malformed":
                    yield b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{"ind\n\n'
                    return
                if fault.mode == "drop":
                    transport = request.scope.get("fake.transport")
                    if transport is not None:
                        transport.abort()
                    await asyncio.sleep(0.01)
                    return
                if fault.mode == "stall":
                    deadline = time.monotonic() + fault.pause_ms / 1000
                    while time.monotonic() < deadline and not (self._stopping is not None and self._stopping.is_set()):
                        await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
            yield event
            sent += 1

    async def _pause(self, request: Request, seconds: float) -> None:
        """Wait `seconds`, but stop early when the client hangs up or the server stops, so a
        request the client gave up on no longer counts as in flight."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        waits = [asyncio.ensure_future(asyncio.sleep(seconds)),
                 asyncio.ensure_future(self._until_disconnected(request)),
                 asyncio.ensure_future(self._stopping.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    @staticmethod
    async def _until_disconnected(request: Request) -> None:
        while True:  # the body was read already, so the next message is the disconnect
            message = await request.receive()
            if message.get("type") == "http.disconnect":
                return

    @staticmethod
    async def _drop(request: Request) -> Response:
        """Close the connection without an answer (the client sees it drop mid-request)."""
        transport = request.scope.get("fake.transport")
        if transport is None:
            raise RuntimeError("this server cannot drop connections")
        transport.abort()
        await asyncio.sleep(0.01)  # let the server notice, so the response below goes nowhere
        return Response(b"", status_code=500)

    @staticmethod
    def _fault_response(status: int, message: str | None, headers: dict[str, str]) -> Response:
        if status == 429:
            return _error(429, message or "Rate limit reached for requests. Please try again in 20ms.",
                          type_="requests", code="rate_limit_exceeded", headers=headers)
        if status >= 500:
            return _error(status, message or ("The server had an error while processing your request."
                                              if status == 500 else "The engine is currently overloaded."),
                          type_="server_error", headers=headers)
        return _error(status, message or f"simulated error {status}", headers=headers)

    def _check_auth(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not key:
            return _error(401, "Incorrect API key provided: you didn't provide an API key. You need to provide "
                          "your API key in an Authorization header using Bearer auth.", code="invalid_api_key")
        if key in self.invalid_keys:
            return _error(401, f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
                          "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
        return None

    # --- routing --------------------------------------------------------------------------------

    async def _route(self, request: Request, record: RecordedRequest, path: str) -> Response:
        method = request.method
        parts = [p for p in path.split("/") if p]
        body = record.json if isinstance(record.json, dict) else {}
        head = parts[0] if parts else ""
        if head == "chat" and parts[1:] == ["completions"] and method == "POST":
            return await self._chat(body)
        if head == "responses" and len(parts) == 1 and method == "POST":
            return await self._responses(body)
        if head == "images" and parts[1:] == ["generations"] and method == "POST":
            return self._images(body, request)
        if head == "audio" and parts[1:] == ["speech"] and method == "POST":
            return self._speech(body)
        if head == "audio" and parts[1:] in (["transcriptions"], ["translations"]) and method == "POST":
            return self._transcript(record, translate=parts[1] == "translations")
        if head == "moderations" and len(parts) == 1 and method == "POST":
            return self._moderations(body)
        if head == "embeddings" and len(parts) == 1 and method == "POST":
            try:
                return JSONResponse(embeddings_response(body))
            except EmbeddingRequestError as exc:
                raise _BadRequest(str(exc), param=exc.param) from None
        if head == "models":
            return self._models(method, parts[1:])
        if head == "files":
            return self._files(method, parts[1:], record)
        if head == "assistants":
            return self._assistants(method, parts[1:], body, record.query)
        if head == "threads":
            return self._threads(method, parts[1:], body, record.query)
        if head == "fine_tuning" and parts[1:] == ["jobs"] and method == "GET":
            return self._fine_tuning_jobs(record.query)
        return _error(404, f"Invalid URL ({method} {request.url.path})")

    # --- chat completions -----------------------------------------------------------------------

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

    # --- responses ------------------------------------------------------------------------------

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

    # --- images and audio -----------------------------------------------------------------------

    def _images(self, body: dict[str, Any], request: Request) -> Response:
        prompt = body.get("prompt")
        if not prompt:
            raise _BadRequest("Missing required parameter: 'prompt'.", param="prompt")
        model = body.get("model") or "dall-e-2"
        n = int(body.get("n") or 1)
        if model.startswith("dall-e-3") and n != 1:
            raise _BadRequest("You must provide n=1 for this model.", param="n")
        as_url = not model.startswith("gpt-image") and body.get("response_format", "url") == "url"
        image, media_type = image_sample(self.image_format or body.get("output_format") or "png")
        encoded = base64.b64encode(image).decode("ascii")
        data = []
        for _ in range(n):
            item: dict[str, Any] = {}
            if self.image_data_urls:
                item["url"] = f"data:{media_type};base64,{encoded}"
            elif as_url:
                name = _id("img-")
                self.images[name] = (image, media_type)
                item["url"] = f"http://{self.host}:{self.port}/_fake/images/{name}"
            else:
                item["b64_json"] = encoded
            if model.startswith("dall-e-3"):
                item["revised_prompt"] = f"Revised: {prompt}"
            data.append(item)
        result: dict[str, Any] = {"created": _now(), "data": data}
        if model.startswith("gpt-image"):
            tokens = _tokens(prompt)
            result.update({"background": body.get("background", "opaque"),
                           "output_format": body.get("output_format", "png"),
                           "quality": body.get("quality", "medium"), "size": body.get("size", "1024x1024"),
                           "usage": {"input_tokens": tokens, "output_tokens": 272 * n,
                                     "total_tokens": tokens + 272 * n,
                                     "input_tokens_details": {"text_tokens": tokens, "image_tokens": 0}}})
        return JSONResponse(result)

    def _speech(self, body: dict[str, Any]) -> Response:
        for key in ("model", "input", "voice"):
            if not body.get(key):
                raise _BadRequest(f"Missing required parameter: '{key}'.", param=key)
        fmt = body.get("response_format") or "mp3"
        if fmt not in SPEECH_TYPES:
            raise _BadRequest(f"Invalid value: '{fmt}'.", param="response_format")
        return Response(speech_bytes(str(body["input"]), fmt), media_type=SPEECH_TYPES[fmt])

    def _transcript(self, record: RecordedRequest, *, translate: bool) -> Response:
        form = record.form
        if "file" not in record.files:
            raise _BadRequest("Missing required parameter: 'file'.", param="file")
        if not form.get("model"):
            raise _BadRequest("Missing required parameter: 'model'.", param="model")
        filename, size = record.files["file"]
        data = record.file_bytes.get("file", b"")
        try:
            text = data.decode("utf-8").strip()
            if not text or any(ord(c) < 9 for c in text):
                raise ValueError
        except ValueError:
            text = f"Audio from {filename} ({size} bytes)."
        words = text.split()
        duration = round(max(1.0, len(words) * 0.4), 2)
        fmt = form.get("response_format") or "json"
        if fmt == "text":
            return PlainTextResponse(text + "\n")
        if fmt == "srt":
            return PlainTextResponse(f"1\n00:00:00,000 --> {_clock(duration, ',')}\n{text}\n\n")
        if fmt == "vtt":
            return PlainTextResponse(f"WEBVTT\n\n00:00:00.000 --> {_clock(duration, '.')}\n{text}\n\n")
        if fmt == "verbose_json":
            result: dict[str, Any] = {
                "task": "translate" if translate else "transcribe", "language": "english", "duration": duration,
                "text": text,
                "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": " " + text, "tokens": [1],
                              "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.0,
                              "no_speech_prob": 0.01}],
                "usage": {"type": "duration", "seconds": math.ceil(duration)},
            }
            granularities = form.get("timestamp_granularities[]") or form.get("timestamp_granularities")
            granularities = granularities if isinstance(granularities, list) else [granularities]
            if "word" in granularities:
                result["words"] = [{"word": w, "start": round(i * 0.4, 2), "end": round(i * 0.4 + 0.4, 2)}
                                   for i, w in enumerate(words)]
            return JSONResponse(result)
        if fmt not in ("json", "diarized_json"):
            raise _BadRequest(f"Invalid value: '{fmt}'.", param="response_format")
        return JSONResponse({"text": text, "usage": {"type": "duration", "seconds": math.ceil(duration)}})

    # --- moderations ----------------------------------------------------------------------------

    def _moderations(self, body: dict[str, Any]) -> Response:
        raw = body.get("input")
        if raw in (None, "", []):
            raise _BadRequest("Missing required parameter: 'input'.", param="input")
        texts = [raw] if isinstance(raw, str) else [_text_of([x]) if isinstance(x, dict) else str(x) for x in raw]
        results = []
        for text in texts:
            lowered = text.lower()
            flagged = any(word in lowered for word in FLAG_WORDS)
            categories = {c: False for c in MODERATION_CATEGORIES}
            scores = {c: 0.0001 for c in MODERATION_CATEGORIES}
            if "hate" in lowered:
                categories["hate"], scores["hate"] = True, 0.91
            if "kill" in lowered:
                categories["violence"], scores["violence"] = True, 0.93
            if "flag" in lowered:
                categories["harassment"], scores["harassment"] = True, 0.88
            results.append({"flagged": flagged, "categories": categories, "category_scores": scores,
                            "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES}})
        return JSONResponse({"id": _id("modr-"), "model": body.get("model") or "omni-moderation-latest",
                             "results": results})

    # --- models ---------------------------------------------------------------------------------

    def _models(self, method: str, rest: list[str]) -> Response:
        def model(name: str, owner: str) -> dict[str, Any]:
            return {"id": name, "object": "model", "created": 1686935002, "owned_by": owner}

        if method == "GET" and not rest:
            return JSONResponse({"object": "list", "data": [model(n, o) for n, o in MODELS]})
        if method == "GET" and len(rest) == 1:
            owners = dict(MODELS)
            if rest[0] not in owners:
                return _error(404, f"The model '{rest[0]}' does not exist or you do not have access to it.",
                              code="model_not_found")
            return JSONResponse(model(rest[0], owners[rest[0]]))
        return _error(405 if not rest else 404, f"Invalid method {method} for /models")

    # --- files ----------------------------------------------------------------------------------

    def _files(self, method: str, rest: list[str], record: RecordedRequest) -> Response:
        if not rest and method == "POST":
            if "file" not in record.files:
                raise _BadRequest("Missing required parameter: 'file'.", param="file")
            purpose = record.form.get("purpose")
            if not purpose:
                raise _BadRequest("Missing required parameter: 'purpose'.", param="purpose")
            filename, size = record.files["file"]
            file = {"id": _id("file-"), "object": "file", "bytes": size, "created_at": _now(), "filename": filename,
                    "purpose": purpose, "status": "processed", "expires_at": None, "status_details": None}
            with self._lock:
                self.files[file["id"]] = file
                self.file_contents[file["id"]] = record.file_bytes.get("file", b"")
            return JSONResponse(file)
        if not rest and method == "GET":
            query = record.query
            items = [f for f in self.files.values() if not query.get("purpose") or f["purpose"] == query["purpose"]]
            return self._page(items, query, default_limit=10000, default_order="desc")
        if not rest:
            return _error(405, f"Invalid method {method} for /files")
        file = self.files.get(rest[0])
        if file is None:
            return _error(404, f"No such File object: {rest[0]}", param="id")
        if len(rest) == 1 and method == "GET":
            return JSONResponse(file)
        if len(rest) == 1 and method == "DELETE":
            with self._lock:
                self.files.pop(rest[0], None)
                self.file_contents.pop(rest[0], None)
            return JSONResponse({"id": rest[0], "object": "file", "deleted": True})
        if rest[1:] == ["content"] and method == "GET":
            return Response(self.file_contents.get(rest[0], b""), media_type="application/octet-stream")
        return _error(404, f"Invalid URL ({method} /v1/files/{'/'.join(rest)})")

    @staticmethod
    def _page(items: list[dict[str, Any]], query: dict[str, Any], *, default_limit: int = 20,
              default_order: str = "desc") -> Response:
        order = query.get("order") or default_order
        ordered = sorted(items, key=lambda x: (x.get("created_at", 0), x.get("_seq", 0)), reverse=order == "desc")
        after, before = query.get("after"), query.get("before")
        ids = [x["id"] for x in ordered]
        if after in ids:
            ordered = ordered[ids.index(after) + 1:]
        if before in ids:
            ordered = ordered[:ids.index(before)]
        limit = int(query.get("limit") or default_limit)
        page = [{k: v for k, v in x.items() if not k.startswith("_")} for x in ordered[:limit]]
        return JSONResponse({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                             "last_id": page[-1]["id"] if page else None, "has_more": len(ordered) > limit})

    # --- assistants -----------------------------------------------------------------------------

    _seq = 0

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

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
            return self._page(list(self.assistants.values()), query)
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
                return self._page(items, query)
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
            return self._page([r for r in self.runs.values() if r["thread_id"] == thread_id], query)
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
            return self._page(self.run_steps.get(run["id"], []), query)
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

    # --- fine-tuning ----------------------------------------------------------------------------

    def _fine_tuning_jobs(self, query: dict[str, Any]) -> Response:
        jobs = [{"id": f"ftjob-fake{i}", "object": "fine_tuning.job", "created_at": 1721764800 + i,
                 "model": "gpt-4o-mini-2024-07-18", "fine_tuned_model": f"ft:gpt-4o-mini-2024-07-18:fake::job{i}",
                 "organization_id": "org-fake", "status": "succeeded", "error": None, "finished_at": 1721768400 + i,
                 "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8},
                 "training_file": "file-train", "validation_file": None, "result_files": ["file-result"],
                 "trained_tokens": 5768, "seed": 42, "estimated_finish": None, "integrations": [],
                 "metadata": None, "user_provided_suffix": None} for i in range(3)]
        return self._page(jobs, query)


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


# --- command line ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.connectors.openai.fake_server",
                                     description="Serve a fake OpenAI-compatible API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before every answer")
    parser.add_argument("--stream-chunk-delay-ms", type=float, default=0, help="delay between streamed chunks")
    parser.add_argument("--echo", action="store_true",
                        help="answer every chat/responses request with an echo instead of the simulated model "
                             "(which calls offered tools and fills JSON schemas)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # The importable module's classes, also when this file runs as __main__ (the simulated
    # model's ToolCall answers are instances of the module's ToolCall).
    from studio.connectors.openai import fake_server as module

    answerer = None
    if not args.echo:
        from studio.connectors.openai.simulated import simulated_answer as answerer
    server = module.FakeOpenAIServer(latency_ms=args.latency_ms, port=args.port,
                              stream_chunk_delay_ms=args.stream_chunk_delay_ms, answerer=answerer).start()
    print(server.base_url, flush=True)
    try:
        while not stop.wait(0.2):
            if not server.running:
                return 1
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
