"""The webhook endpoint against hostile callers, over real loopback sockets: an oversized body is
refused while reading (never buffered), slow headers and slow bodies are cut off, and caller
credentials never reach the trigger payload or the run history."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from studio.flow.io import save_flow
from studio.flow.models import Flow, Node
from studio.history import RunHistory
from studio.triggers.webhook import WebhookReply, WebhookRoute, WebhookServer

LIMIT = 64 * 1024


class Running:
    """A WebhookServer on 127.0.0.1 in a thread with its own event loop, so that the test can use
    plain blocking sockets. `calls` holds every payload the route's handler received."""

    def __init__(self, **options) -> None:
        self.calls: list[dict] = []
        self.loop = asyncio.new_event_loop()
        self.server = WebhookServer(**options)

        async def handler(payload):
            self.calls.append(payload)
            return WebhookReply(200, {"ok": True})

        self.server.add(WebhookRoute("POST", "/hooks/in", handler, secret_header="X-Flow-Secret", secret="s3cret",
                                     sensitive_headers=("X-Api-Key", " x-partner-token ")))
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture
def running(request):
    servers: list[Running] = []

    def start(**options) -> Running:
        servers.append(Running(**options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _connect(running: Running, timeout: float = 20.0) -> socket.socket:
    sock = socket.create_connection(running.address, timeout=timeout)
    return sock


def _read_until_closed(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed);
    socket.timeout (the server neither answered nor closed) propagates and fails the test."""
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _status(answer: bytes) -> int | None:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    return int(match.group(1)) if match else None


SECRET = b"X-Flow-Secret: s3cret\r\n"


# --- body size ---------------------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_reading(running):
    # Long body timeouts: a server that waited for the body would not answer within the socket timeout.
    server = running(max_body_bytes=LIMIT, body_chunk_timeout=120, body_timeout=120)
    sock = _connect(server, timeout=15)
    sock.sendall(b"POST /hooks/in HTTP/1.1\r\nHost: t\r\n" + SECRET + b"Content-Type: application/json\r\n"
                 b"Content-Length: 200000000\r\n\r\n" + b"x" * 1000)
    answer = _read_until_closed(sock)  # answered and closed without the remaining 200 MB
    sock.close()
    assert _status(answer) == 413, answer[:200]
    assert b"connection: close" in answer.lower()
    assert server.calls == []
    assert server.server.bytes_received < 10_000


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(running):
    server = running(max_body_bytes=LIMIT, body_chunk_timeout=60, body_timeout=60)
    sock = _connect(server, timeout=30)
    sock.sendall(b"POST /hooks/in HTTP/1.1\r\nHost: t\r\n" + SECRET + b"Transfer-Encoding: chunked\r\n\r\n")
    piece = b"%x\r\n%s\r\n" % (16384, b"y" * 16384)
    sent, answered, closed = 0, False, False
    total = 20 * 1024 * 1024  # what the caller would like to send: 20 MB
    while sent < total:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            answered = True
            break
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        sent += len(piece)
    answer = b""
    try:
        answer = _read_until_closed(sock)
    finally:
        sock.close()
    assert answered or closed, "the server read all 20 MB"
    assert sent < total
    if answer:  # (a reset may overtake the answer on some systems; the server closed either way)
        assert _status(answer) == 413, answer[:200]
    assert server.calls == []
    # Never much more than the limit was read off the socket, though the caller sent on.
    assert server.server.bytes_received < LIMIT + 2 * 1024 * 1024, server.server.bytes_received


def test_a_body_within_the_limit_still_arrives(running):
    server = running(max_body_bytes=LIMIT)
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server.port}") as http:
        ok = http.post("/hooks/in", content=b'{"n": "' + b"z" * (LIMIT - 20) + b'"}',
                       headers={"X-Flow-Secret": "s3cret"})
        chunked = http.post("/hooks/in", content=iter([b'{"a":', b" 1}"]), headers={"X-Flow-Secret": "s3cret"})
        over = http.post("/hooks/in", content=b"z" * (LIMIT + 1), headers={"X-Flow-Secret": "s3cret"})
    assert ok.status_code == 200 and chunked.status_code == 200
    assert over.status_code == 413
    assert len(server.calls[0]["body"]["n"]) == LIMIT - 20
    assert server.calls[1]["body"] == {"a": 1}
    assert len(server.calls) == 2


# --- slow callers ------------------------------------------------------------------------------


def test_headers_that_never_finish_are_cut_off(running):
    server = running(header_timeout=0.5)
    sock = _connect(server, timeout=20)
    sock.sendall(b"POST /hooks/in HTTP/1.1\r\nHost: t\r\n")  # ... and never the blank line
    answer = _read_until_closed(sock)
    sock.close()
    assert answer == b"" or _status(answer) == 408, answer[:200]
    assert server.calls == []
    assert server.server.header_timeouts == 1


def test_a_connection_that_sends_nothing_is_cut_off(running):
    server = running(header_timeout=0.5)
    sock = _connect(server, timeout=20)
    assert _read_until_closed(sock) == b""
    sock.close()
    assert server.server.header_timeouts == 1


def test_dribbled_headers_do_not_extend_the_header_timeout(running):
    server = running(header_timeout=1.0)
    sock = _connect(server, timeout=20)
    request = b"POST /hooks/in HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"p" * 300 + b"\r\n" + SECRET + b"\r\n"
    closed = False
    for i, byte in enumerate(request[:-2]):  # one byte every 50 ms: 15 s for the headers if allowed
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            closed = True
            break
    if closed:
        _read_until_closed(sock)
    sock.close()
    assert closed, "the server waited for every dribbled byte"
    assert server.calls == []


def test_a_keep_alive_connection_gets_a_header_timeout_for_its_next_request(running):
    server = running(header_timeout=0.5)
    sock = _connect(server, timeout=20)
    sock.sendall(b"POST /hooks/in HTTP/1.1\r\nHost: t\r\n" + SECRET + b"Content-Length: 2\r\n\r\n{}")
    first = b""
    while b"\r\n\r\n" not in first or not first.endswith(b"}"):
        first += sock.recv(65536)
    assert _status(first) == 200
    sock.sendall(b"POST /hooks/in HTTP/1.1\r\n")  # the next request's headers never finish
    answer = _read_until_closed(sock)
    sock.close()
    assert answer == b"" or _status(answer) == 408, answer[:200]
    assert server.server.header_timeouts == 1
    assert len(server.calls) == 1


def test_a_body_that_stops_coming_gets_408(running):
    server = running(body_chunk_timeout=0.5, body_timeout=30)
    sock = _connect(server, timeout=20)
    sock.sendall(b"POST /hooks/in HTTP/1.1\r\nHost: t\r\n" + SECRET + b"Content-Length: 100\r\n\r\n" + b"{" * 10)
    answer = _read_until_closed(sock)
    sock.close()
    assert _status(answer) == 408, answer[:200]
    assert server.calls == []


def test_a_body_dribbled_past_the_total_deadline_gets_408(running):
    server = running(body_chunk_timeout=5, body_timeout=1.0)
    sock = _connect(server, timeout=20)
    sock.sendall(b"POST /hooks/in HTTP/1.1\r\nHost: t\r\n" + SECRET + b"Transfer-Encoding: chunked\r\n\r\n")
    answer = b""
    for _ in range(300):  # a byte every 50 ms, each well within the per-chunk timeout: 15 s if allowed
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            answer = _read_until_closed(sock)
            break
        try:
            sock.sendall(b"1\r\n \r\n")
        except (BrokenPipeError, ConnectionResetError):
            answer = _read_until_closed(sock)
            break
    sock.close()
    assert _status(answer) == 408, answer[:200]
    assert server.calls == []


# --- no caller credentials in the payload ------------------------------------------------------


def test_caller_credentials_are_not_in_the_payload(running):
    server = running()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server.port}") as http:
        answer = http.post("/hooks/in", json={"a": 1}, headers={
            "X-Flow-Secret": "s3cret", "Authorization": "Bearer caller-token", "Proxy-Authorization": "Basic eHg=",
            "Cookie": "session=abc", "X-Api-Key": "key-123", "X-Partner-Token": "tok-456", "X-Request-Id": "r-1"})
    assert answer.status_code == 200
    [payload] = server.calls
    headers = {k.lower(): v for k, v in payload["headers"].items()}
    for name in ("authorization", "proxy-authorization", "cookie", "x-flow-secret", "x-api-key", "x-partner-token"):
        assert name not in headers
    assert headers["x-request-id"] == "r-1"  # the rest still reaches the flow
    text = repr(payload)
    for secret in ("caller-token", "eHg=", "session=abc", "s3cret", "key-123", "tok-456"):
        assert secret not in text


def test_studio_serve_keeps_caller_credentials_out_of_the_run_history(tmp_path):
    hook = Node(action="trigger.webhook", name="Hook",
                values={"method": "POST", "path": "/hooks/in", "response_mode": "immediate",
                        "secret_header": "X-Flow-Secret", "sensitive_headers": ["X-Api-Key"]})
    path = tmp_path / "hook.flow.json"
    save_flow(Flow(name="Hook only", nodes=[hook]), path)
    env = {**os.environ, "FLOW_STUDIO_WEBHOOK_SECRET": "s3cret-value"}
    proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "serve", str(path), "--port", "0", "--trust"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        line = proc.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        answer = httpx.post(f"{match.group(1)}/hooks/in", json={"order": 7}, timeout=10, headers={
            "X-Flow-Secret": "s3cret-value", "Authorization": "Bearer caller-token", "Cookie": "sid=cookie-value",
            "X-Api-Key": "key-123", "X-Request-Id": "r-1"})
        assert answer.status_code == 202
        deadline = time.monotonic() + 20
        runs = []
        while time.monotonic() < deadline:
            runs = [r for r in RunHistory().list_runs() if r.status != "running"]
            if runs:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    [run] = runs
    assert run.payload["body"] == {"order": 7}
    assert {k.lower(): v for k, v in run.payload["headers"].items()}["x-request-id"] == "r-1"
    stored = repr(RunHistory().get_run(run.run_id))
    for secret in ("caller-token", "cookie-value", "key-123", "s3cret-value"):
        assert secret not in stored
