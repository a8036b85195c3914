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
from openai._utils._json import openapi_dumps

from studio.connectors.openai.retries import with_retries

# What the SDK turns into APITimeoutError / APIConnectionError (openai._httpx2).
_TIMEOUT_ERRORS = (httpx2.TimeoutException,)
_REQUEST_ERRORS = (httpx2.RequestError, ssl.SSLError, anyio.EndOfStream)


class DirectJSON:
    """The direct path of one SDK client. Headers common to every call are worked out once
    (on the first call, after the SDK's own platform detection, off the event loop)."""

    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk
        self._headers: dict[str, str] | None = None
        self._urls: dict[str, str] = {}

    async def _common_headers(self) -> dict[str, str]:
        if self._headers is None:
            sdk = self.sdk
            if sdk._platform is None:  # the SDK does this once per client too, in a thread
                sdk._platform = await asyncio.to_thread(get_platform)
            self._headers = _merge_headers(sdk.auth_headers, sdk.default_headers)
        return self._headers

    def _url(self, path: str) -> str:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = str(self.sdk._prepare_url(path))
        return url

    async def post(self, path: str, body: Any, *, timeout_s: float | None = None) -> Any:
        """POST `body` as JSON to `path` under the base URL; the decoded JSON answer (the text
        when the server says it is not JSON), or the SDK's error for a failure."""
        sdk = self.sdk
        headers = dict(await self._common_headers())
        idempotency_header = sdk._idempotency_header
        if idempotency_header:
            headers[idempotency_header] = sdk._idempotency_key()  # the same key on every try
        timeout = timeout_s if timeout_s else sdk.timeout  # 0 or None: the client's own
        read = timeout.read if isinstance(timeout, httpx2.Timeout) else timeout
        if read is not None:
            headers["x-stainless-read-timeout"] = str(read)
        content = openapi_dumps(body)
        url = self._url(path)
        http: httpx2.AsyncClient = sdk._client

        async def try_once(retries_taken: int) -> Any:
            headers["x-stainless-retry-count"] = str(retries_taken)
            request = http.build_request("POST", url, headers=headers, content=content, timeout=timeout)
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
