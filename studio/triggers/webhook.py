"""The Webhook trigger's local HTTP endpoint (127.0.0.1 by default).

One server serves every webhook flow of a process; each registers a method and a path. The request
(body, query, headers) is the run's trigger payload; the answer is, as the flow's trigger says, an
immediate 202, the output of a chosen node or of the last node to finish, or what a Respond to
Webhook node says as soon as it runs (`answer_with_run`). Starlette routes, uvicorn serves."""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_BODY_BYTES = 10 * 1024 * 1024
HEADER_TIMEOUT_S = 10.0
"""A client must finish a request's headers within this many seconds of connecting (or of its
first byte on a kept-alive connection), or the connection is closed."""
BODY_CHUNK_TIMEOUT_S = 10.0
"""Longest wait for the next piece of a request body before answering 408."""
BODY_TIMEOUT_S = 30.0
"""Longest time to read a whole request body before answering 408."""

ALWAYS_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
"""Caller credentials never put in a trigger payload (and so never in the run history)."""

_CLOSE = {"connection": "close"}


@dataclass(frozen=True)
class WebhookReply:
    status: int
    body: Any
    # Set by a Respond to Webhook node: its headers, and `body` is the finished text to send.
    headers: dict[str, str] | None = None
    raw: bool = False


# Called with the trigger payload; returns what to answer.
WebhookHandler = Callable[[dict[str, Any]], Awaitable[WebhookReply]]


@dataclass
class WebhookRoute:
    method: str
    path: str
    handler: WebhookHandler
    secret_header: str | None = None
    secret: str | None = None
    sensitive_headers: tuple[str, ...] = ()  # more headers kept out of the payload

    def dropped_headers(self) -> frozenset[str]:
        key = (self.sensitive_headers, self.secret_header)
        if getattr(self, "_dropped", (None,))[0] != key:  # worked out once per route, not per request
            names = {h.strip().lower() for h in self.sensitive_headers if h and h.strip()}
            if self.secret_header:
                names.add(self.secret_header.strip().lower())
            self._dropped = (key, ALWAYS_SENSITIVE_HEADERS | names)
        return self._dropped[1]


class _GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a header-read timeout (uvicorn has none): a connection that has
    not completed a request's headers `header_timeout` seconds after it opened (or after the first
    byte of its next request) is closed. Also counts the bytes read, for the owner's statistics."""

    def __init__(self, *args: Any, webhook: "WebhookServer", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._webhook = webhook
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._webhook.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._webhook.header_timeouts += 1
            if self.conn.our_state is h11.IDLE and self.conn.trailing_data[0]:
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
                                     b"connection: close\r\n\r\n")
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        self._webhook.bytes_received += len(data)
        super().data_received(data)
        # Armed only when headers are still incomplete after this piece: most requests come
        # whole in one piece and need no timer (one made and cancelled per request before).
        if self.conn.their_state is h11.IDLE:
            self._arm_header_timer()
        else:
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)


class _EveryPath(Route):
    """A route for every path (the server looks webhooks up by path itself): no path pattern to
    match nor path parameters to convert for each request, as a `/{path:path}` route has."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]], *, methods: list[str]) -> None:
        super().__init__("/{path:path}", endpoint, methods=methods)

    def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
        if scope["type"] != "http":
            return Match.NONE, {}
        return (Match.FULL if scope["method"] in self.methods else Match.PARTIAL), {"endpoint": self.endpoint}


class WebhookServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, max_body_bytes: int = MAX_BODY_BYTES,
                 header_timeout: float = HEADER_TIMEOUT_S, body_chunk_timeout: float = BODY_CHUNK_TIMEOUT_S,
                 body_timeout: float = BODY_TIMEOUT_S) -> None:
        self.host, self.port = host, port
        self.max_body_bytes = max_body_bytes
        self.header_timeout = header_timeout
        self.body_chunk_timeout = body_chunk_timeout
        self.body_timeout = body_timeout
        self.bytes_received = 0  # every byte read from every connection (statistics, tests)
        self.header_timeouts = 0
        self._routes: dict[tuple[str, str], WebhookRoute] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    @staticmethod
    def normalise_path(path: str) -> str:
        return "/" + (path or "").strip().strip("/")

    def add(self, route: WebhookRoute) -> None:
        key = (route.method.upper(), self.normalise_path(route.path))
        if key in self._routes:
            raise ValueError(f"Webhook trigger: {key[0]} {key[1]} is already served by another flow")
        self._routes[key] = route

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _dispatch(self, request: Request) -> Response:
        path = request.scope["path"]
        if any(c in path for c in "?#\\"):  # as the URL shows them (escaped): rebuild it, rare
            path = request.url.path
        key = (request.method.upper(), self.normalise_path(path))
        route = self._routes.get(key)
        if route is None:
            allowed = sorted(m for (m, p) in self._routes if p == key[1])
            # Answered without reading the body: close, so an unread body cannot keep the connection.
            if allowed:
                return JSONResponse({"error": f"method {key[0]} not allowed here; use {', '.join(allowed)}"}, 405,
                                    headers=_CLOSE)
            return JSONResponse({"error": f"no webhook at {key[1]}"}, 404, headers=_CLOSE)
        if route.secret_header and route.secret is not None:
            given = request.headers.get(route.secret_header, "")
            if not hmac.compare_digest(given.encode(), route.secret.encode()):
                return JSONResponse({"error": f"missing or wrong {route.secret_header} header"}, 401, headers=_CLOSE)
        raw = await self._read_body(request)
        if isinstance(raw, Response):
            return raw
        body: Any
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text) if raw else None
        except ValueError:
            body = text
        dropped = route.dropped_headers()
        payload = {
            "method": key[0],
            "path": key[1],
            "query": dict(request.query_params),
            "headers": {k: v for k, v in request.headers.items() if k.lower() not in dropped},
            "body": body,
        }
        reply = await route.handler(payload)
        if reply.raw:
            return Response(str(reply.body or ""), reply.status, headers=reply.headers)
        if isinstance(reply.body, (dict, list)) or reply.body is None:
            return JSONResponse(reply.body, reply.status)
        return Response(str(reply.body), reply.status, media_type="text/plain; charset=utf-8")

    async def _read_body(self, request: Request) -> bytes | Response:
        """The request body, read piece by piece: never more than `max_body_bytes` is held, a
        declared length over the limit is refused before reading, and a slow body gets 408."""
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_body_bytes:
                    return self._too_large()
            except ValueError:
                return JSONResponse({"error": "bad Content-Length header"}, 400, headers=_CLOSE)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        receive = request.receive  # the ASGI messages themselves: one timer per piece, no generator
        chunks, size = [], 0
        try:
            # One timer, moved on after each piece: the next one is due within the chunk timeout,
            # the whole body within the body timeout.
            async with asyncio.timeout_at(min(loop.time() + self.body_chunk_timeout, deadline)) as limit:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return Response(status_code=400, headers=_CLOSE)  # nobody is left to read it
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        return self._too_large()
                    if chunk:
                        chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
                    limit.reschedule(min(loop.time() + self.body_chunk_timeout, deadline))
        except TimeoutError:
            return JSONResponse({"error": "request body not received in time"}, 408, headers=_CLOSE)
        return b"".join(chunks)

    def _too_large(self) -> Response:
        return JSONResponse({"error": f"request body too large (limit {self.max_body_bytes} bytes)"}, 413,
                            headers=_CLOSE)

    async def start(self) -> None:
        app = Starlette(routes=[_EveryPath(self._dispatch, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="off",
                                http=functools.partial(_GuardedH11Protocol, webhook=self))
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # the owner handles signals
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None


# --- answering with the run ------------------------------------------------------------------------

RESPONSE_SERVICE = "webhook_response"
"""The run service a Respond to Webhook node hands its answer to ({status, headers, body})."""
RESPONSE_MODES = ("immediate", "node", "last_node", "respond_node")
_ANSWERED_RUNS: set[asyncio.Future] = set()  # runs still going after their request was answered


class ResponseSlot:
    """Where a Respond to Webhook node puts the answer; the request waits on it. The first answer
    wins (a second Respond node, or one in a loop, changes nothing)."""

    def __init__(self) -> None:
        self.future: asyncio.Future = asyncio.get_running_loop().create_future()

    def __call__(self, answer: dict[str, Any]) -> None:
        if not self.future.done():
            self.future.set_result(answer)


def _failed(result: Any) -> WebhookReply:
    return WebhookReply(500, {"status": result.status, "run_id": result.run_id, "error": result.error})


def _last_output(result: Any) -> Any:
    columns = getattr(result.nodes, "last_succeeded_output", None)  # a run's own results (engine/results.py)
    if columns is not None:
        return columns()
    finished = [r for r in result.nodes.values() if r.status == "succeeded" and r.finished_at is not None]
    return max(finished, key=lambda r: r.finished_at).output if finished else None


async def answer_with_run(mode: str, reply_node: str | None,
                          run: Callable[[dict[str, Any]], Awaitable[Any]]) -> WebhookReply:
    """Run the flow (`run(services)` returns its result) and answer as `mode` says: `node` (the
    output of `reply_node`), `last_node` (of the node that finished last) or `respond_node` (what
    a Respond to Webhook node says, as soon as it runs; the run goes on after the answer)."""
    if mode == "respond_node":
        slot = ResponseSlot()
        task = asyncio.ensure_future(run({RESPONSE_SERVICE: slot}))
        await asyncio.wait({task, slot.future}, return_when=asyncio.FIRST_COMPLETED)
        if slot.future.done():
            if not task.done():
                _ANSWERED_RUNS.add(task)
                task.add_done_callback(_ANSWERED_RUNS.discard)
            answer = slot.future.result()
            return WebhookReply(int(answer.get("status") or 200), answer.get("body") or "",
                                headers=dict(answer.get("headers") or {}), raw=True)
        result = task.result()
        if result.status != "succeeded":
            return _failed(result)
        return WebhookReply(500, {"error": "the run ended without reaching a Respond to Webhook node",
                                  "run_id": result.run_id})
    result = await run({})
    if result.status != "succeeded":
        return _failed(result)
    if mode == "last_node":
        return WebhookReply(200, _last_output(result))
    try:
        return WebhookReply(200, result.output(reply_node))
    except KeyError:
        return WebhookReply(500, {"error": f"Webhook trigger 'Response Node': no node named {reply_node!r}"})
