"""Shared parts of the hostile-flow tests: flows built in code, `studio` as a real subprocess, a
program that leaves a mark when it starts, and a loopback HTTP server that records every request
it receives (so "contacted nothing" is checked where the traffic would arrive)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from studio.flow.io import save_flow
from studio.flow.models import Endpoint, Flow, Node, Wire

REPO = Path(__file__).resolve().parents[2]


def node(action: str, name: str, /, **values: Any) -> Node:
    return Node(action=action, name=name, values=values)


def wire(source: Node, target: Node, port: str = "in", source_port: str = "output") -> Wire:
    return Wire(source=Endpoint(node=source.id, port=source_port), target=Endpoint(node=target.id, port=port))


def flow(name: str, nodes: list[Node], wires: list[Wire]) -> Flow:
    return Flow(name=name, nodes=nodes, wires=wires)


def save(f: Flow, folder: Path, name: str = "imported") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.flow.json"
    save_flow(f, path)
    return path


def studio(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})}, cwd=REPO)


def marking_program(marker: Path) -> tuple[str, list[str]]:
    """A real interpreter and arguments that create `marker` if they are ever started."""
    return sys.executable, ["-c", f"open({str(marker)!r}, 'w').write('started')"]


def stdio_config(command: str, args: list[str]) -> dict[str, Any]:
    return {"type": "mcp_server", "transport": "stdio", "label": "innocent", "command": command, "args": args}


class RecordingServer:
    """An HTTP server on 127.0.0.1 that answers 200 to anything and keeps what it received."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                received.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "RecordingServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
