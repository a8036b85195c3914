"""Cheaper idle-connection probes for the SDK's httpx2 pool. httpcore2 checks every idle
connection's socket ("did the server close it?") each time a request enters or leaves the pool:
tens of probes per request in a fan-out of hundreds. Its anyio stream finds the socket through
anyio's typed attributes on every probe (a dict of lambdas built per call, most of the probe's
cost); these streams look the socket up once and keep it. Same answer: `poll` on the same socket,
and a closed socket still reads as "readable", so the pool drops it."""

from __future__ import annotations

import ssl
from typing import Any

import httpcore2
from httpcore2._backends.anyio import AnyIOStream
from httpcore2._utils import is_socket_readable

_UNSET: Any = object()


class ProbeCachingStream(AnyIOStream):
    """httpcore2's anyio stream with the raw socket remembered for `is_readable`."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._socket = _UNSET

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> "ProbeCachingStream":
        tls = await super().start_tls(ssl_context, server_hostname=server_hostname, timeout=timeout)
        return ProbeCachingStream(tls._stream)  # type: ignore[attr-defined]

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            sock = self._socket
            if sock is _UNSET:
                sock = self._socket = super().get_extra_info("socket")
            return is_socket_readable(sock)
        return super().get_extra_info(info)


class ProbeCachingBackend(httpcore2.AnyIOBackend):
    """httpcore2's anyio backend (what its AutoBackend picks under asyncio) making the streams above."""

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> ProbeCachingStream:
        stream = await super().connect_tcp(*args, **kwargs)
        return ProbeCachingStream(stream._stream)  # type: ignore[attr-defined]


def use_probe_caching(client: Any) -> None:
    """Give `client`'s own connection pool (not a test's transport, not a proxy's) the backend
    above, before it opens its first connection."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if type(pool) is httpcore2.AsyncConnectionPool and not pool.connections:
        pool._network_backend = ProbeCachingBackend()
