"""The bare baseline as its own process: `python -m benchmarks.bare BASE_URL N CONCURRENCY`.
Imports only asyncio and httpx, like a hand-written script would."""

from __future__ import annotations

import asyncio
import sys

from .engine_bare import bare_requests

if __name__ == "__main__":
    base_url, n, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(f"{asyncio.run(bare_requests(base_url, n, concurrency)):.6f}")
