"""The OpenAI client every handler uses: the official SDK for typed endpoints (its own retries with
backoff, jitter and Retry-After) and a pooled httpx client for Raw Request, which may only reach
paths under the connection's base URL so the key is never sent anywhere else."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Mapping
from urllib.parse import unquote, urlparse

import httpx
import httpx2
import openai
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "openai-api-key", "proxy-authorization"})
REDACTED = "[REDACTED]"
# Server-directed waits longer than this are not honoured (the SDK uses the same bound).
MAX_RETRY_AFTER_S = 60.0

raw_log = logging.getLogger("studio.raw")


class ConnectionSettings(BaseModel):
    """Everything needed to talk to one OpenAI-compatible endpoint. The key never prints: it is
    left out of repr and of every dump, so settings can be logged or saved without leaking it."""

    model_config = ConfigDict(extra="ignore")

    name: str = "default"
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = Field(default=None, repr=False, exclude=True)
    organization: str | None = None
    simulated: bool = False
    max_retries: int = 2
    # First backoff step of the SDK's retries (it doubles each try, capped at 8 s, minus up to 25 %
    # jitter). Tests lower it; a Retry-After from the server always wins.
    retry_delay_s: float = 0.5

    def pool_key(self) -> tuple[str, str, str, str]:
        digest = hashlib.sha256((self.api_key or "").encode("utf-8")).hexdigest()
        return (self.name, self.base_url.rstrip("/"), digest, self.organization or "")


def redact_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `headers` with every credential value replaced, for logs and error details."""
    if not headers:
        return {}
    items = headers.items() if hasattr(headers, "items") else headers
    return {k: (REDACTED if str(k).lower() in SECRET_HEADERS else v) for k, v in items}


# --- the SDK with a configurable first backoff step ----------------------------------------------


class _AsyncOpenAI(openai.AsyncOpenAI):
    """The SDK client; only the first backoff step differs (a class attribute, so `with_options`
    copies keep it)."""

    initial_retry_delay_s = 0.5

    def _calculate_retry_timeout(self, remaining_retries: int, options: Any, response_headers: Any = None) -> float:
        if self.initial_retry_delay_s == 0.5:
            return super()._calculate_retry_timeout(remaining_retries, options, response_headers)
        retry_after = self._parse_retry_after_header(response_headers)
        if retry_after is not None and math.isfinite(retry_after) and 0 < retry_after <= MAX_RETRY_AFTER_S:
            return retry_after
        tries_so_far = min(options.get_max_retries(self.max_retries) - remaining_retries, 1000)
        delay = min(self.initial_retry_delay_s * pow(2.0, tries_so_far), 8.0)
        return max(0.0, delay * (1 - 0.25 * random.random()))


_SDK_CLASSES: dict[float, type[_AsyncOpenAI]] = {0.5: _AsyncOpenAI}


def _sdk_class(initial_delay_s: float) -> type[_AsyncOpenAI]:
    if initial_delay_s not in _SDK_CLASSES:
        _SDK_CLASSES[initial_delay_s] = type("_AsyncOpenAI", (_AsyncOpenAI,), {"initial_retry_delay_s": initial_delay_s})
    return _SDK_CLASSES[initial_delay_s]


# --- raw requests --------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    content: bytes
    body: Any = field(default=None)


def raw_url(base_url: str, path: str) -> str:
    """`path` joined under `base_url`. "/v1/models", "/models" and "models" all give
    ".../v1/models" for a ".../v1" base; anything that could leave the base is refused."""
    refusal = f"Raw Request 'URL' must be a path under {base_url}"
    text = str(path or "").strip()
    if not text or "://" in text or text.startswith("//") or "\\" in text or any(ord(c) < 32 for c in text):
        raise ValueError(refusal)
    path_part, sep, query = text.partition("?")
    segments = [unquote(s) for s in path_part.split("/")]
    if any(s in {".", ".."} or "/" in s or "\\" in s for s in segments):
        raise ValueError(refusal)
    base = base_url.rstrip("/")
    base_path = urlparse(base).path.rstrip("/")
    rest = "/" + path_part.lstrip("/")
    if base_path and (rest == base_path or rest.startswith(base_path + "/")):
        rest = rest[len(base_path):]
    url = base + ("/" + rest.lstrip("/") if rest.strip("/") else "")
    return url + (sep + query if sep else "")


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The server's requested wait (retry-after-ms, then Retry-After seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _parse_body(response: httpx.Response, response_type: str) -> Any:
    if response_type == "binary":
        return response.content
    if response_type == "text":
        return response.text
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text  # asked for JSON but the server sent text: keep it readable


class OpenAIClient:
    """One connection's SDK client plus the raw HTTP client. Made by ClientPool, which shares the
    underlying connection pools; a client made directly owns (and closes) its own."""

    def __init__(self, settings: ConnectionSettings, *, http: httpx.AsyncClient | None = None,
                 sdk_http: httpx2.AsyncClient | None = None) -> None:
        if not settings.api_key:
            raise ValueError(
                f"connection {settings.name!r} has no API key: save one in Connections or set OPENAI_API_KEY"
            )
        self.settings = settings
        self._owns_http = http is None
        self._owns_sdk_http = sdk_http is None
        self.http = http if http is not None else _new_http()
        self._sdk_http = sdk_http if sdk_http is not None else _new_sdk_http()
        self.sdk = _sdk_class(settings.retry_delay_s)(
            api_key=settings.api_key,
            organization=settings.organization,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            http_client=self._sdk_http,
        )

    def __repr__(self) -> str:
        return f"OpenAIClient({self.settings!r})"

    def _auth_headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.settings.api_key}"}
        if self.settings.organization:
            headers["OpenAI-Organization"] = self.settings.organization
        return headers

    async def raw_request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        form: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        content: str | bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        response_type: str = "json",
        timeout_s: float | None = None,
        max_retries: int = 0,
        retry_delay_ms: int = 0,
        retry_on_all_errors: bool = False,
        exponential_backoff: bool = False,
        debug: bool = False,
    ) -> RawResponse:
        """Send one request under the base URL with the connection's key. Retries (only here:
        typed calls rely on the SDK's) cover network errors and 5xx, and also 429/4xx when
        `retry_on_all_errors`. A non-2xx answer raises httpx.HTTPStatusError."""
        url = raw_url(self.settings.base_url, path)
        method = method.upper()
        all_headers = {**self._auth_headers(), **{str(k): str(v) for k, v in (headers or {}).items()}}
        form_fields = dict(form or data or {}) or None
        body_kw: dict[str, Any] = {}
        if files:
            body_kw["files"] = dict(files)
            if form_fields:
                body_kw["data"] = form_fields
        elif form_fields:
            body_kw["data"] = form_fields
        elif json is not None:
            body_kw["json"] = json
        elif content is not None:
            body_kw["content"] = content
        timeout = httpx.Timeout(timeout_s) if timeout_s else httpx.Timeout(60.0, connect=10.0)
        attempt = 0
        while True:
            if debug:
                raw_log.info("raw request %s %s params=%s headers=%s", method, url, dict(params or {}),
                             redact_headers(all_headers))
            started = time.monotonic()
            try:
                response = await self.http.request(method, url, params=params, headers=all_headers,
                                                   timeout=timeout, **body_kw)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if debug:
                    raw_log.info("raw request %s %s failed: %s", method, url, type(exc).__name__)
                if attempt >= max_retries:
                    raise
                await asyncio.sleep(self._raw_delay(attempt, retry_delay_ms, exponential_backoff, None))
                attempt += 1
                continue
            if debug:
                raw_log.info("raw response %s %s -> %s in %.0f ms headers=%s", method, url, response.status_code,
                             (time.monotonic() - started) * 1000, redact_headers(response.headers))
            status = response.status_code
            if status < 400:
                return RawResponse(status=status, headers=dict(response.headers), content=response.content,
                                   body=_parse_body(response, response_type))
            retryable = status >= 500 or (retry_on_all_errors and status >= 400)
            if retryable and attempt < max_retries:
                wait = _retry_after_s(response.headers)
                if wait is not None and wait > MAX_RETRY_AFTER_S:
                    retryable = False
                if retryable:
                    await asyncio.sleep(self._raw_delay(attempt, retry_delay_ms, exponential_backoff, wait))
                    attempt += 1
                    continue
            raise httpx.HTTPStatusError(
                f"{status} {response.reason_phrase} for {method} {url}", request=response.request, response=response
            )

    @staticmethod
    def _raw_delay(attempt: int, retry_delay_ms: int, exponential: bool, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(0.0, retry_after)
        if exponential:
            base = retry_delay_ms / 1000 if retry_delay_ms else 0.5
            step = base * (2 ** attempt)
            return min(step + random.uniform(0, step * 0.25), 30.0)
        return max(0, retry_delay_ms) / 1000

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()
        if self._owns_sdk_http:
            await self._sdk_http.aclose()

    async def __aenter__(self) -> "OpenAIClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def _new_http() -> httpx.AsyncClient:
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                             timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=False)


def _new_sdk_http() -> httpx2.AsyncClient:
    return httpx2.AsyncClient(limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100),
                              timeout=httpx2.Timeout(600.0, connect=10.0), follow_redirects=True)


class ClientPool:
    """One OpenAIClient per connection (name, base URL, key, organization), all sharing two
    connection pools, so a run of many nodes reuses sockets."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str, str], OpenAIClient] = {}
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None
        self._sdk_http: httpx2.AsyncClient | None = None

    async def get(self, settings: ConnectionSettings) -> OpenAIClient:
        key = settings.pool_key()
        async with self._lock:
            client = self._clients.get(key)
            if client is None:
                if self._http is None:
                    self._http = _new_http()
                    self._sdk_http = _new_sdk_http()
                client = OpenAIClient(settings, http=self._http, sdk_http=self._sdk_http)
                self._clients[key] = client
            return client

    async def aclose(self) -> None:
        self._clients.clear()
        http, sdk_http = self._http, self._sdk_http
        self._http = self._sdk_http = None
        if http is not None:
            await http.aclose()
        if sdk_http is not None:
            await sdk_http.aclose()

