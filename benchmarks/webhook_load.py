"""The load generator of the webhook figures: `connections` kept-alive HTTP/1.1 connections, each
posting the same small JSON body one request after another until `total` requests were answered.
A minimal client on raw asyncio streams (no httpx), so that the generator, which shares the
machine's cores with the server it measures, costs as little as possible and the same for both
servers. Run as its own process: `python -m benchmarks.webhook_load URL TOTAL CONNECTIONS`
prints one JSON line {seconds, latencies_ms: {p50, p99}, statuses}."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


def request_bytes(host: str, port: int, path: str, n: int) -> bytes:
    body = json.dumps({"n": n, "name": "bench"}).encode()
    return (f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


async def _one_connection(host: str, port: int, path: str, todo: list[int], latencies: list[float],
                          statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while todo:
            n = todo.pop()
            started = time.perf_counter()
            writer.write(request_bytes(host, port, path, n))
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length = next(int(line.split(":", 1)[1]) for line in lines[1:]
                          if line.lower().startswith("content-length:"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def load(url: str, total: int, connections: int) -> dict:
    parts = urlsplit(url)
    todo = list(range(total))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(*(_one_connection(parts.hostname, parts.port, parts.path or "/", todo, latencies, statuses)
                           for _ in range(connections)))
    seconds = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"seconds": seconds, "requests": len(latencies), "latencies_ms": {"p50": pct(0.50), "p99": pct(0.99)},
            "statuses": {str(k): v for k, v in statuses.items()}}


if __name__ == "__main__":
    url, total, connections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(load(url, total, connections))), flush=True)
