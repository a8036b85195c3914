"""The bare baseline as its own process:
`python -m benchmarks.bare BASE_URL N CONCURRENCY [sequential]` prints the seconds its N requests
took (one after another with `sequential`). Imports only asyncio and httpx, like a hand-written
script would. What `studio run` loads before its run starts (the TLS context, anyio's asyncio
backend: `load_http_stack`) is loaded here before the timing starts too, so both sides time
their requests alone, each from a fresh process (new connections, code run for the first time)."""

from __future__ import annotations

import asyncio
import importlib
import sys

from .engine_bare import bare_requests, tls_context


def load_set_up() -> None:
    """The TLS context (~25 ms) and the I/O backend httpx's connections run on (~13 ms)."""
    tls_context()
    try:
        importlib.import_module("anyio._backends._asyncio")
    except ImportError:  # pragma: no cover - no anyio: nothing to load ahead
        pass


if __name__ == "__main__":
    base_url, n, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sequential = sys.argv[4:] == ["sequential"]
    load_set_up()
    print(f"{asyncio.run(bare_requests(base_url, n, concurrency, sequential=sequential)):.6f}")
