"""The "Simulated (offline)" connection: one process-wide fake OpenAI server, so the app can be
tried without a key or a network. Answers come a little slowly (and stream piece by piece) so a
run looks alive on the canvas."""

from __future__ import annotations

import threading

from studio.connectors.openai.fake_server import FakeOpenAIServer

SIMULATED_CONNECTION_NAME = "Simulated (offline)"
SIMULATED_API_KEY = "simulated-offline-key"
SIMULATED_LATENCY_MS = 150
SIMULATED_CHUNK_DELAY_MS = 30

_server: FakeOpenAIServer | None = None
_lock = threading.Lock()


def ensure_simulated_server() -> str:
    """Start the shared fake server if it is not running and return its base URL."""
    global _server
    with _lock:
        if _server is None or not _server.running:
            _server = FakeOpenAIServer(latency_ms=SIMULATED_LATENCY_MS,
                                       stream_chunk_delay_ms=SIMULATED_CHUNK_DELAY_MS).start()
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
