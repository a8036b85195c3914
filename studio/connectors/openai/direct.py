"""Plain JSON calls (a POST of a JSON body, answered with JSON) sent straight through the SDK
client's pooled httpx2 client, without the SDK's per-request machinery (options models copied
per try, URL merging, header validation, response wrappers): about 0.4 ms of CPU a request, as
much as the engine's own work on a chat node. Everything a caller can see stays the SDK's: the
same headers (auth, organization, User-Agent, X-Stainless-*), base URL, timeouts, idempotency
key, the same retries (studio/connectors/openai/retries.py, one loop for both paths) and the
same exception types, built by the SDK client's own `_make_status_error_from_response`.
Streams, uploads and typed results stay on the SDK."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import anyio
import httpx2
import openai
from openai._base_client import _merge_headers, get_platform
from openai._utils._json import _CustomEncoder

from studio.connectors.openai.retries import with_retries
from studio.jsontext import json_encoder

# What the SDK turns into APITimeoutError / APIConnectionError (openai._httpx2).
_TIMEOUT_ERRORS = (httpx2.TimeoutException,)
_REQUEST_ERRORS = (httpx2.RequestError, ssl.SSLError, anyio.EndOfStream)


# `openapi_dumps` (the SDK's request JSON: compact, non-ASCII kept, NaN refused, dates and models
# as the SDK writes them) without its encoder object per body.
_BODY_TEXT = json_encoder(default=_CustomEncoder().default, item_separator=",", key_separator=":", allow_nan=False)


def body_json(body: Any) -> bytes:
    """A request body as the SDK's `openapi_dumps` writes it (tests/connectors/test_request_json.py)."""
    return _BODY_TEXT(body).encode()


_PLATFORM: list[Any] = []  # what `sdk_platform` found, once per process


def sdk_platform() -> Any:
    """The SDK's platform detection (blocking: it may read the Python binary to find the C
    library's version), done once per process instead of once per client, in a thread, inside
    the first call of every run."""
    if not _PLATFORM:
        _PLATFORM.append(get_platform())
    return _PLATFORM[0]


class DirectJSON:
    """The direct path of one SDK client. What is the same on every call is worked out once (on
    the first call, after the SDK's own platform detection, off the event loop): the headers,
    merged with the httpx2 client's own as its `build_request` merges them, each path's URL and
    each timeout's request extension. A call then builds its request as `build_request` would,
    with only the per-call headers (retry count, idempotency key, read timeout) added."""

    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk
        self._headers: httpx2.Headers | None = None
        self._urls: dict[str, httpx2.URL] = {}
        self._timeouts: dict[Any, tuple[float | None, dict[str, Any]]] = {}

    async def _common_headers(self) -> httpx2.Headers:
        if self._headers is None:
            sdk = self.sdk
            if sdk._platform is None:  # the SDK does this once per client too, in a thread
                sdk._platform = _PLATFORM[0] if _PLATFORM else await asyncio.to_thread(sdk_platform)
            headers = httpx2.Headers(sdk._client.headers)  # as httpx2's build_request merges them
            headers.update(_merge_headers(sdk.auth_headers, sdk.default_headers))
            self._headers = headers
        return self._headers

    def _url(self, path: str) -> httpx2.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx2.URL(str(self.sdk._prepare_url(path)))
        return url

    def _timeout(self, timeout_s: float | None) -> tuple[float | None, dict[str, Any]]:
        """(the read timeout the SDK announces, the request's timeout extension) for a node's
        timeout, or the client's own for 0 or None."""
        known = self._timeouts.get(timeout_s)
        if known is None:
            timeout = timeout_s if timeout_s else self.sdk.timeout
            read = timeout.read if isinstance(timeout, httpx2.Timeout) else timeout
            known = self._timeouts[timeout_s] = (read, httpx2.Timeout(timeout).as_dict())
        return known

    async def post(self, path: str, body: Any, *, timeout_s: float | None = None) -> Any:
        """POST `body` as JSON to `path` under the base URL; the decoded JSON answer (the text
        when the server says it is not JSON), or the SDK's error for a failure."""
        sdk = self.sdk
        call_headers = {}
        idempotency_header = sdk._idempotency_header
        if idempotency_header:
            call_headers[idempotency_header] = sdk._idempotency_key()  # the same key on every try
        read, timeout_extension = self._timeout(timeout_s)
        if read is not None:
            call_headers["x-stainless-read-timeout"] = str(read)
        common = await self._common_headers()
        content = body_json(body)
        url = self._url(path)
        http: httpx2.AsyncClient = sdk._client

        async def try_once(retries_taken: int) -> Any:
            # The per-call headers in the SDK's order; the copy keeps the common headers' encoding
            # (found once) instead of decoding every header again to find it.
            one = httpx2.Headers(common, encoding=common.encoding)
            one.update({"x-stainless-retry-count": str(retries_taken), **call_headers})
            if http.params:  # none on the SDK's client; kept exact if one is ever set
                request = http.build_request("POST", url, headers=one, content=content,
                                             extensions={"timeout": timeout_extension})
            else:
                request = httpx2.Request("POST", url, headers=one, content=content, cookies=http.cookies,
                                         extensions={"timeout": timeout_extension})
            try:
                response = await http.send(request)
            except _TIMEOUT_ERRORS as err:
                raise openai.APITimeoutError(request=request) from err
            except _REQUEST_ERRORS as err:
                raise openai.APIConnectionError(request=request) from err
            if response.status_code >= 400:
                raise sdk._make_status_error_from_response(response) from None
            content_type = response.headers.get("content-type", "*").split(";")[0]
            return response.json() if content_type.endswith("json") else response.text

        return await with_retries(try_once, sdk.policy, sdk.max_retries + 1)
