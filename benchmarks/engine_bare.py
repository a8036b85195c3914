"""The baseline of the engine figures: N chat completions posted by plain asyncio + httpx, at most
`concurrency` at once. Imports nothing of the studio, so it also runs as its own small process."""

from __future__ import annotations

import asyncio
import functools
import time

MODEL = "gpt-4o-mini"
PROMPT = "Say hello."


def http_library():
    """httpx2 when installed: the httpx fork the OpenAI SDK here sends its requests with, so the
    baseline uses the same HTTP stack as the engine. Plain httpx 0.28 otherwise (slower with
    hundreds of queued requests; docs/performance.md has its figures)."""
    try:
        import httpx2

        return httpx2
    except ImportError:
        import httpx

        return httpx


@functools.lru_cache(maxsize=1)
def tls_context():
    """The TLS context (CA bundle, about 25 ms to load), made once per process as the engine's
    client pool does, so neither side's timing includes it after the warm-up."""
    return http_library().create_ssl_context()


def chat_body(i: int) -> dict:
    """What a benchmark chat node sends (non-streamed), so both sides send the same request."""
    return {"model": MODEL, "messages": [{"role": "user", "content": f"{PROMPT} #{i}"}],
            "temperature": 1, "top_p": 1, "n": 1}


async def bare_requests(base_url: str, n: int, concurrency: int, *, sequential: bool = False) -> float:
    """Wall seconds for `n` chat completions (or one after another); every answer is parsed and
    checked, as the engine does."""
    httpx = http_library()

    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": "Bearer sk-local-placeholder"}
    semaphore = asyncio.Semaphore(concurrency)
    start = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=120, verify=tls_context()) as client:
        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(url, json=chat_body(i), headers=headers)
                response.raise_for_status()
                if not response.json()["choices"][0]["message"]["content"]:
                    raise RuntimeError("empty answer")

        if sequential:
            for i in range(n):
                await one(i)
        else:
            await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start
