"""The fake server itself: lifecycle (uvicorn on its own loop in a thread), test controls,
recording, auth, faults and latency, and routing each request to the family of routes that
answers it (one mixin per API family; see the package docstring)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import deque
from typing import Any, AsyncIterator, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from .assistants import AssistantsRoutes
from .batches_videos import BatchVideoRoutes
from .catalog_routes import CatalogRoutes
from .chat import ChatRoutes
from .conversations import ConversationRoutes
from .common import API_PREFIX, DEFAULT_INVALID_KEYS, Call, _BadRequest, _error, _masked, _Reply
from .controls import STREAM_FAULTS, FaultRates, RecordedRequest, _QueuedFault, _StreamFault
from .media import MediaRoutes
from .responses import ResponsesRoutes
from .uploads_evals import UploadEvalRoutes
from .vector_stores import VectorStoreRoutes

ROUTE_FAMILIES = (ChatRoutes, ResponsesRoutes, ConversationRoutes, MediaRoutes, CatalogRoutes, VectorStoreRoutes,
                  BatchVideoRoutes, UploadEvalRoutes, AssistantsRoutes)


class FakeOpenAIServer(*ROUTE_FAMILIES):
    def __init__(self, latency_ms: float = 0, *, host: str = "127.0.0.1", port: int = 0,
                 invalid_keys: set[str] | frozenset[str] | None = None, stream_chunk_delay_ms: float = 0,
                 answerer: Callable[[str, dict[str, Any]], Any] | None = None,
                 keep_requests: int | None = None) -> None:
        self.host, self.port = host, port
        # Answers unscripted chat/responses requests (see the module docstring); None: echo.
        self.answerer = answerer
        self.latency_ms = latency_ms
        self.stream_chunk_delay_ms = stream_chunk_delay_ms
        self.invalid_keys: set[str] = set(DEFAULT_INVALID_KEYS if invalid_keys is None else invalid_keys)
        self.faults: FaultRates | None = None
        self.image_format: str | None = None
        self.image_data_urls = False
        # Every request (None: a list), or only the last `keep_requests` (a deque): a long-lived
        # server (the simulated connection, the command line's) would otherwise hold every body
        # it was sent.
        self.requests: list[RecordedRequest] | deque[RecordedRequest] = (
            [] if keep_requests is None else deque(maxlen=keep_requests))
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
        self.responses: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.conversation_items: dict[str, list[dict[str, Any]]] = {}
        self.vector_stores: dict[str, dict[str, Any]] = {}
        self.vector_files: dict[str, dict[str, dict[str, Any]]] = {}
        self.vector_batches: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.evals: dict[str, dict[str, Any]] = {}
        self.eval_runs: dict[str, dict[str, Any]] = {}

    def _answer(self, kind: str, body: dict[str, Any]) -> _Reply | None:
        output = self.answerer(kind, body) if self.answerer is not None else None
        return None if output is None else _Reply.of(output)

    def _next_script(self, kind: str) -> _Reply | None:
        with self._lock:
            for queue in (self._scripts[kind], self._scripts["any"]):
                if queue:
                    return _Reply.of(queue.pop(0))
        return None

    _seq = 0

    def _next_seq(self) -> int:
        """A counter that orders objects made in the same second (lists sort by it)."""
        with self._lock:
            self._seq += 1
            return self._seq

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
                    record.uploads.append((key, value.filename or "", len(data)))
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
        elif isinstance(response, JSONResponse):
            record.status, record.answer = response.status_code, json.loads(response.body)
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

    @classmethod
    def _families(cls) -> dict[str, str]:
        """The first path segment ("chat", "files" ...) -> the name of the method that routes it."""
        heads: dict[str, str] = {}
        for family in ROUTE_FAMILIES:
            heads.update(family.HEADS)
        return heads

    async def _route(self, request: Request, record: RecordedRequest, path: str) -> Response:
        parts = [p for p in path.split("/") if p]
        body = record.json if isinstance(record.json, dict) else {}
        head = parts[0] if parts else ""
        route = self._families().get(head)
        if route is not None:
            response = await getattr(self, route)(Call(request.method, parts[1:], body, record, request))
            if response is not None:
                return response
        return _error(404, f"Invalid URL ({request.method} {request.url.path})")
