"""The Webhook trigger's local HTTP endpoint (127.0.0.1 by default).

One server serves every webhook flow of a process; each registers a method and a path. The request
(body, query, headers) is the run's trigger payload; the answer is either an immediate 202 or the
output of a chosen node, whatever the flow's trigger says. Starlette routes, uvicorn serves."""

from __future__ import annotations

import asyncio
import hmac
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class WebhookReply:
    status: int
    body: Any


# Called with the trigger payload; returns what to answer.
WebhookHandler = Callable[[dict[str, Any]], Awaitable[WebhookReply]]


@dataclass
class WebhookRoute:
    method: str
    path: str
    handler: WebhookHandler
    secret_header: str | None = None
    secret: str | None = None


class WebhookServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
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
        key = (request.method.upper(), self.normalise_path(request.url.path))
        route = self._routes.get(key)
        if route is None:
            allowed = sorted(m for (m, p) in self._routes if p == key[1])
            if allowed:
                return JSONResponse({"error": f"method {key[0]} not allowed here; use {', '.join(allowed)}"}, 405)
            return JSONResponse({"error": f"no webhook at {key[1]}"}, 404)
        if route.secret_header and route.secret is not None:
            given = request.headers.get(route.secret_header, "")
            if not hmac.compare_digest(given.encode(), route.secret.encode()):
                return JSONResponse({"error": f"missing or wrong {route.secret_header} header"}, 401)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return JSONResponse({"error": "request body too large"}, 413)
        body: Any
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text) if raw else None
        except ValueError:
            body = text
        secret_name = (route.secret_header or "").lower()
        payload = {
            "method": key[0],
            "path": key[1],
            "query": dict(request.query_params),
            "headers": {k: v for k, v in request.headers.items() if k.lower() != secret_name},
            "body": body,
        }
        reply = await route.handler(payload)
        if isinstance(reply.body, (dict, list)) or reply.body is None:
            return JSONResponse(reply.body, reply.status)
        return Response(str(reply.body), reply.status, media_type="text/plain; charset=utf-8")

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._dispatch,
                                      methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="off")
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
