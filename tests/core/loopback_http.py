"""A real HTTP server on 127.0.0.1 (a thread of http.server) that the HTTP Request tests call."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


class Handler(BaseHTTPRequestHandler):
    server: "LoopbackServer"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", media: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value, status: int = 200, **headers: str) -> None:
        self._send(status, json.dumps(value).encode(), **headers)

    def _route(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.seen.append({"method": self.command, "path": parts.path, "query": query,
                                 "headers": dict(self.headers), "body": raw})
        path = parts.path
        if path == "/echo":
            self._json({"method": self.command, "query": query, "content_type": self.headers.get("Content-Type"),
                        "authorization": self.headers.get("Authorization"), "x_key": self.headers.get("X-Key"),
                        "body": raw.decode("utf-8", "replace")})
        elif path == "/pages":
            page = int(query.get("page", "1"))
            self._json({"data": [{"n": page * 10 + i} for i in range(2)] if page <= 2 else []})
        elif path == "/cursor":
            nxt = {"a": "/cursor?at=b", "b": "/cursor?at=c", "c": None}[query.get("at", "a")]
            self._json({"items": [query.get("at", "a")], "next": nxt})
        elif path == "/flaky":
            self.server.flaky += 1
            if self.server.flaky <= 2:
                self._json({"error": "busy"}, 503, Retry_After="0")
            else:
                self._json({"ok": True, "after": self.server.flaky})
        elif path == "/missing":
            self._json({"error": "no such thing"}, 404)
        elif path == "/image.png":
            self._send(200, PNG, "image/png")
        elif path == "/text":
            self._send(200, b"plain words", "text/plain")
        elif path == "/hop":
            self._send(302, b"", Location="/echo")
        elif path == "/away":
            self._send(302, b"", Location=self.server.elsewhere)
        else:
            self._json({"error": "unknown path"}, 404)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _route


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[dict] = []
        self.flaky = 0
        self.elsewhere = "http://127.0.0.2:9/"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
