"""The httpx transports that put a cassette between the OpenAI client and the network.

The client uses two httpx packages (`httpx` for Raw Request, `httpx2` under the SDK, which also
carries agents, streams, images and audio); `cassette_transports` makes one transport for each.
Recording sends the request for real and keeps the exchange (the streamed body is read whole
first); replaying answers from the cassette and never opens a socket."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any, Callable

import httpx
import httpx2

from .cassette import MISS_STATUS, Cassette, normal_request, response_content, stored_response

# Headers that describe the body as it travelled (the recorded body is stored decoded).
_TRANSFER_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def _transport_class(http: ModuleType) -> type:
    class CassetteTransport(http.AsyncBaseTransport):  # type: ignore[name-defined, misc]
        """Records into, or replays from, one cassette."""

        def __init__(self, cassette: Cassette) -> None:
            self.cassette = cassette
            self.inner = http.AsyncHTTPTransport(
                limits=http.Limits(max_connections=100, max_keepalive_connections=100)
            ) if cassette.mode == "record" else None

        async def handle_async_request(self, request: Any) -> Any:
            body = await request.aread()
            normal = normal_request(request.method, request.url.path, request.url.query.decode("ascii", "replace"),
                                    request.headers.get("content-type", ""), body)
            if self.inner is None:
                return self._replay(request, normal)
            response = await self.inner.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            content_type = response.headers.get("content-type", "")
            self.cassette.add(normal, stored_response(response.status_code, content_type, content))
            headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _TRANSFER_HEADERS]
            return http.Response(response.status_code, headers=headers, content=content, request=request)

        def _replay(self, request: Any, normal: dict[str, Any]) -> Any:
            recorded = self.cassette.answer(normal)
            if recorded is None:
                miss = self.cassette.misses[-1]
                message = miss.describe()
                content = json.dumps({"error": {"message": message, "type": "cassette_miss", "code": None,
                                                "param": None}}).encode("utf-8")
                return http.Response(MISS_STATUS, headers={"content-type": "application/json", "x-should-retry": "false"},
                                     content=content, request=request)
            headers = dict(recorded.get("headers") or {})
            return http.Response(int(recorded.get("status", 200)), headers=headers,
                                 content=response_content(recorded), request=request)

        async def aclose(self) -> None:
            if self.inner is not None:
                await self.inner.aclose()

    return CassetteTransport


HttpxCassetteTransport = _transport_class(httpx)
Httpx2CassetteTransport = _transport_class(httpx2)


def cassette_transports(cassette: Cassette) -> Callable[[], tuple[Any, Any]]:
    """A factory of (httpx transport, httpx2 transport) for the client pool, both on `cassette`."""
    return lambda: (HttpxCassetteTransport(cassette), Httpx2CassetteTransport(cassette))
