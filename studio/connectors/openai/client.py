"""The OpenAI client every handler uses: the official SDK for typed endpoints and streams, a direct
path for plain JSON calls (studio/connectors/openai/direct.py), both retried by one policy
(studio/connectors/openai/retries.py: backoff, jitter and Retry-After, each retry reported on
the calling node), and a pooled httpx client for Raw Request, which may only reach paths under
the connection's base URL so the key is never sent anywhere else."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib
import logging
import random
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import unquote, urlparse

import httpx
import httpx2
import openai
from pydantic import BaseModel, ConfigDict, Field

from studio.connectors.openai.direct import DirectJSON, sdk_platform
from studio.connectors.openai.idempotency import idempotency_key
from studio.connectors.openai.retries import (
    MAX_RETRY_AFTER_S,
    CallPolicy,
    announce_retry,
    retry_after_s,
    status_reason,
    with_retries,
)
from studio.connectors.openai.sockets import use_probe_caching

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "openai-api-key", "proxy-authorization"})
REDACTED = "[REDACTED]"

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
    # Retries after the first try of every SDK call (408/409/429/5xx, dropped connections,
    # timeouts): 5 tries in all by default, and none started past `retry_budget_s` of the call.
    max_retries: int = 4
    # First backoff step (it doubles each try, capped at 8 s, minus up to 25 % jitter). Tests lower
    # it; a Retry-After / retry-after-ms from the server always wins.
    retry_delay_s: float = 0.5
    retry_budget_s: float = 60.0
    # Timeouts, as the SDK's own defaults: connect 5 s, 600 s to read an answer; a stream may be
    # idle (no chunk) for `stream_idle_timeout_s`, however long it runs in all. A node's
    # Timeout (ms) overrides all of them.
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 600.0
    stream_idle_timeout_s: float = 60.0

    def call_policy(self) -> "CallPolicy":
        return CallPolicy(self.retry_delay_s, self.retry_budget_s, self.connect_timeout_s, self.read_timeout_s,
                          self.stream_idle_timeout_s)

    def pool_key(self) -> tuple[str, str, str, str]:
        digest = hashlib.sha256((self.api_key or "").encode("utf-8")).hexdigest()
        return (self.name, self.base_url.rstrip("/"), digest, self.organization or "")


def redact_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `headers` with every credential value replaced, for logs and error details."""
    if not headers:
        return {}
    items = headers.items() if hasattr(headers, "items") else headers
    return {k: (REDACTED if str(k).lower() in SECRET_HEADERS else v) for k, v in items}


# --- the SDK, with our retries and timeouts ------------------------------------------------------


class _AsyncOpenAI(openai.AsyncOpenAI):
    """The SDK client. Every call (typed methods, pages, streams, agents) goes through `request`,
    which retries it here rather than in the SDK so each retry is announced as a "progress" event
    of the node making the call and the tries stay within a time budget. The policy is a class
    attribute, so `with_options` copies keep it."""

    policy = CallPolicy()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Sent on every POST, the same on each try of a call, so a server (or a gateway) that
        # honours it can tell a retried request from a new one.
        self._idempotency_header = "Idempotency-Key"

    def _idempotency_key(self) -> str:
        return idempotency_key()  # the SDK's format, without a system call per key

    async def request(self, cast_to: Any, options: Any, *, stream: bool = False, stream_cls: Any = None) -> Any:
        policy = self.policy
        tries = options.get_max_retries(self.max_retries) + 1
        options = options.model_copy()
        if options.idempotency_key is None and options.method.lower() != "get":
            options.idempotency_key = self._idempotency_key()  # the same key on every try
        if stream and isinstance(options.timeout, openai.NotGiven):
            options.timeout = httpx2.Timeout(policy.read_timeout_s, connect=policy.connect_timeout_s,
                                             read=policy.stream_idle_timeout_s)
        options.max_retries = 0
        custom = dict(options.headers) if isinstance(options.headers, Mapping) else {}

        async def try_once(retries_taken: int) -> Any:
            one = options.model_copy()
            one.headers = {**custom, "x-stainless-retry-count": str(retries_taken)}
            return await super(_AsyncOpenAI, self).request(cast_to, one, stream=stream, stream_cls=stream_cls)

        return await with_retries(try_once, policy, tries)


_SDK_CLASSES: dict[CallPolicy, type[_AsyncOpenAI]] = {CallPolicy(): _AsyncOpenAI}


def _sdk_class(policy: CallPolicy) -> type[_AsyncOpenAI]:
    if policy not in _SDK_CLASSES:
        _SDK_CLASSES[policy] = type("_AsyncOpenAI", (_AsyncOpenAI,), {"policy": policy})
    return _SDK_CLASSES[policy]


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
    underlying connection pools; a client made directly owns (and closes) its own. The raw
    client (for Raw Request nodes only) is made on first use: building one loads the CA bundle,
    about 25 ms. `direct` sends plain JSON calls (`post_json`) through the direct path; off, they
    go through the SDK's `post` (the benchmarks compare the two)."""

    def __init__(self, settings: ConnectionSettings, *, http: httpx.AsyncClient | None = None,
                 sdk_http: httpx2.AsyncClient | None = None, raw_http: Any = None, direct: bool = True) -> None:
        if not settings.api_key:
            raise ValueError(
                f"connection {settings.name!r} has no API key: save one in Connections or set OPENAI_API_KEY"
            )
        self.settings = settings
        self._owns_http = http is None and raw_http is None
        self._owns_sdk_http = sdk_http is None
        self._http = http
        self._raw_http = raw_http  # the pool's shared raw client, made when first asked for
        self._sdk_http = sdk_http if sdk_http is not None else _new_sdk_http()
        self.sdk = _sdk_class(settings.call_policy())(
            api_key=settings.api_key,
            organization=settings.organization,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            timeout=httpx2.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            http_client=self._sdk_http,
        )
        self.direct = DirectJSON(self.sdk) if direct else None

    @property
    def http(self) -> httpx.AsyncClient:
        """The httpx client Raw Request nodes send with."""
        if self._http is None:
            self._http = self._raw_http() if self._raw_http is not None else _new_http()
        return self._http

    async def post_json(self, path: str, body: Any, *, timeout_s: float | None = None) -> Any:
        """POST a JSON body to `path` and return the decoded answer, with the client's retries
        and the SDK's error types (the direct path, or the SDK's `post` when it is off)."""
        if self.direct is not None:
            return await self.direct.post(path, body, timeout_s=timeout_s)
        options = {"timeout": timeout_s} if timeout_s else {}
        return await self.sdk.post(path, body=body, cast_to=object, options=options)

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
        timeout = (httpx.Timeout(timeout_s) if timeout_s else
                   httpx.Timeout(self.settings.read_timeout_s, connect=self.settings.connect_timeout_s))
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
                wait = self._raw_delay(attempt, retry_delay_ms, exponential_backoff, None)
                announce_retry(f"connection failed ({type(exc).__name__})", wait, attempt + 2, max_retries + 1)
                await asyncio.sleep(wait)
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
                wait = retry_after_s(response.headers)
                if wait is not None and wait > MAX_RETRY_AFTER_S:
                    retryable = False
                if retryable:
                    wait = self._raw_delay(attempt, retry_delay_ms, exponential_backoff, wait)
                    announce_retry(status_reason(status), wait, attempt + 2, max_retries + 1)
                    await asyncio.sleep(wait)
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
        if self._owns_http and self._http is not None:
            await self._http.aclose()
        if self._owns_sdk_http:
            await self._sdk_http.aclose()

    async def __aenter__(self) -> "OpenAIClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


@functools.lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One TLS context (the CA bundle loaded once, about 25 ms) for every SDK connection pool of
    the process, as httpx2 would build it for each (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured).
    The editor's pool, closed after a minute idle, no longer pays it again in one callback."""
    return httpx2.create_ssl_context()


def load_http_stack() -> None:
    """Load what the first request would otherwise load while a run waits on it: the TLS context,
    the SDK's platform detection and the async I/O backend the HTTP connections run on (anyio's
    asyncio backend, imported on its first use: about 13 ms, paid by the first node of a run)."""
    tls_context()
    sdk_platform()  # the SDK's X-Stainless-OS header: detected once, not in a thread in the first call
    try:
        importlib.import_module("anyio._backends._asyncio")
    except ImportError:  # pragma: no cover - another anyio layout: its first request loads it
        pass


def _new_http(transport: Any = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                             timeout=httpx.Timeout(600.0, connect=5.0), follow_redirects=False, transport=transport)


def _new_sdk_http(transport: Any = None) -> httpx2.AsyncClient:
    client = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100),
                                timeout=httpx2.Timeout(600.0, connect=5.0), follow_redirects=True,
                                transport=transport, verify=tls_context())
    use_probe_caching(client)
    return client


class ClientPool:
    """One OpenAIClient per connection (name, base URL, key, organization), all sharing two
    connection pools, so a run of many nodes reuses sockets. `transports`, when given, makes the
    (httpx, httpx2) transports those pools send through (flow tests record and replay there).
    `direct=False` sends plain JSON calls through the SDK instead of the direct path."""

    def __init__(self, transports: Any = None, *, direct: bool = True) -> None:
        self._transports = transports
        self._direct = direct
        self._clients: dict[tuple[str, str, str, str], OpenAIClient] = {}
        self._last: tuple[ConnectionSettings, OpenAIClient] | None = None
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None
        self._sdk_http: httpx2.AsyncClient | None = None
        self._http_transport: Any = None

    def _shared_http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = _new_http(self._http_transport)
        return self._http

    async def get(self, settings: ConnectionSettings) -> OpenAIClient:
        last = self._last
        if last is not None and last[0] is settings:  # the same settings object as the call before
            return last[1]  # (a Connector hands out one per connection): no key digest per node
        key = settings.pool_key()
        client = self._clients.get(key)
        if client is not None:
            self._last = (settings, client)
            return client
        async with self._lock:
            client = self._clients.get(key)
            if client is None:
                if self._sdk_http is None:
                    self._http_transport, sdk_transport = self._transports() if self._transports else (None, None)
                    self._sdk_http = _new_sdk_http(sdk_transport)
                client = OpenAIClient(settings, sdk_http=self._sdk_http, raw_http=self._shared_http,
                                      direct=self._direct)
                self._clients[key] = client
            self._last = (settings, client)
            return client

    async def aclose(self) -> None:
        self._clients.clear()
        self._last = None
        http, sdk_http = self._http, self._sdk_http
        self._http = self._sdk_http = None
        if http is not None:
            await http.aclose()
        if sdk_http is not None:
            await sdk_http.aclose()
