"""HTTP Request: one call (or a page after page) to any HTTP API.

Trust: the URL's origin (scheme, host, port) must be written in the flow and the flow trusted
(studio/flow/capabilities.py); redirects and next-page URLs may not leave that origin. Retries
as for OpenAI calls: network errors, 429 and 5xx, with exponential backoff and the server's
Retry-After, each announced as progress on the node."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from studio.connectors.core._common import get_path, rendered
from studio.connectors.openai.actions._common import load_file
from studio.connectors.openai.retries import MAX_BACKOFF_S, MAX_RETRY_AFTER_S, retry_after_s
from studio.engine.context import NodeContext, NodeError
from studio.flow.capabilities import origin_of

from ._registry import handles
from .auth import Auth, connection_auth, secret_values

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 300.0
MAX_REDIRECTS = 5
ERROR_BODY_CHARS = 500


def _fail(ctx: NodeContext, message: str, field: str | None = None, **details: Any) -> NodeError:
    return NodeError(f"{ctx.node.name}: {message}", details={**({"field": field} if field else {}), **details},
                     retryable=False)


def _pairs(value: Any) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (value or {}).items()}


def _body(ctx: NodeContext) -> dict[str, Any]:
    kind = ctx.inputs.get("body_type") or "none"
    body = ctx.inputs.get("body")
    if kind == "none":
        return {}
    if kind == "raw":
        return {"content": (ctx.inputs.get("raw_body") or "").encode("utf-8"),
                "headers": {"Content-Type": ctx.inputs.get("raw_content_type") or "text/plain"}}
    if kind == "json":
        return {"json": body}
    if body in (None, ""):
        body = {}
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if not isinstance(body, dict):
        raise _fail(ctx, f"'Body' must be an object of fields for a {kind} body", "body")
    if kind == "form":
        return {"data": _pairs(body)}
    parts: list[tuple[str, Any]] = []  # every field a multipart part; (None, text) is a plain field
    for name, value in body.items():
        if isinstance(value, dict) and ({"path", "artifact", "data"} & value.keys()):
            parts.append((name, load_file(ctx, "body", value=value).as_upload()))
        else:
            parts.append((name, (None, value if isinstance(value, str) else json.dumps(value))))
    return {"files": parts}


def _clean(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


async def _send(ctx: NodeContext, client: httpx.AsyncClient, method: str, url: str, *, params: dict[str, Any],
                headers: dict[str, str], body: dict[str, Any], origin: str, secrets: list[str]) -> httpx.Response:
    """One request with retries and same-origin redirects."""
    tries = int(ctx.inputs.get("max_retries") or 0) + 1
    delay = max(0, int(ctx.inputs.get("retry_delay_ms") or 0)) / 1000
    follow = ctx.inputs.get("follow_redirects", True) is not False
    for attempt in range(1, tries + 1):
        try:
            response = await _follow(ctx, client, method, url, params, headers, body, origin, follow)
        except httpx.TransportError as exc:
            if attempt >= tries:
                raise _fail(ctx, f"{method} {url} failed: {_clean(type(exc).__name__ + ': ' + str(exc), secrets)}",
                            kind="network") from None
            wait, reason = min(delay * 2 ** (attempt - 1), MAX_BACKOFF_S), f"network error ({type(exc).__name__})"
        else:
            if response.status_code != 429 and response.status_code < 500 or attempt >= tries:
                return response
            after = retry_after_s(response.headers)
            if after is not None and after > MAX_RETRY_AFTER_S:
                return response
            wait = max(0.0, after) if after is not None else min(delay * 2 ** (attempt - 1), MAX_BACKOFF_S)
            reason = f"{'rate limited' if response.status_code == 429 else 'server error'} ({response.status_code})"
        ctx.emit("progress", message=f"{reason}; retrying in {wait:.1f} s (try {attempt + 1} of {tries})",
                 retry={"try": attempt + 1, "tries": tries, "wait_s": round(wait, 3)})
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


async def _follow(ctx: NodeContext, client: httpx.AsyncClient, method: str, url: str, params: dict[str, Any],
                  headers: dict[str, str], body: dict[str, Any], origin: str, follow: bool) -> httpx.Response:
    extra = body.get("headers", {})
    kwargs = {k: v for k, v in body.items() if k != "headers"}
    if params:  # added to the query the URL already has (httpx's params= would replace it)
        url = str(httpx.URL(url).copy_merge_params(params))
    response = await client.request(method, url, headers={**headers, **extra}, **kwargs)
    for _ in range(MAX_REDIRECTS):
        if not (follow and response.is_redirect):
            return response
        target = urljoin(str(response.url), response.headers["location"])
        if origin_of(target) != origin:
            raise _fail(ctx, f"refused to follow a redirect to {target}: it leaves {origin}, the host written "
                        "in the flow", "url")
        if response.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
            method, kwargs = "GET", {}
        response = await client.request(method, target, headers=headers, **kwargs)
    if follow and response.is_redirect:
        raise _fail(ctx, f"more than {MAX_REDIRECTS} redirects from {url}", "url")
    return response


def _read(ctx: NodeContext, response: httpx.Response) -> Any:
    fmt = ctx.inputs.get("response_format") or "auto"
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if fmt == "auto":
        if not response.content:
            return None
        fmt = "json" if media.endswith("json") or media.endswith("+json") else \
            "text" if media.startswith("text/") or media in ("application/xml", "application/javascript") or not media \
            else "file"
    if fmt == "json":
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise _fail(ctx, f"the answer is not JSON (Content-Type {media or 'none'}); choose Response Format "
                        "Text or File", "response_format", body=response.text[:ERROR_BODY_CHARS]) from None
    if fmt == "text":
        return response.text
    name = urlsplit(str(response.url)).path.rstrip("/").rsplit("/", 1)[-1] or "response"
    if "." not in name:
        name += mimetypes.guess_extension(media or "application/octet-stream") or ".bin"
    return ctx.save_artifact(name, response.content, media or "application/octet-stream").to_json()


def _output(ctx: NodeContext, response: httpx.Response, body: Any) -> Any:
    if ctx.inputs.get("full_response"):
        return {"status": response.status_code, "headers": dict(response.headers), "body": body}
    return body


@handles("http.request")
async def http_request(ctx: NodeContext) -> Any:
    method = (ctx.inputs.get("method") or "GET").upper()
    url = (ctx.inputs.get("url") or "").strip()
    origin = origin_of(url)
    if origin is None:
        raise _fail(ctx, f"'URL' must be an http(s) URL with a host, got {url!r}", "url")
    ctx.grant().check_origin(url, f"{ctx.node.name}: 'URL'")
    auth: Auth = connection_auth(ctx)
    secrets = secret_values(auth)
    headers = {**_pairs(ctx.inputs.get("headers")), **auth.headers}
    params = {**_pairs(ctx.inputs.get("query")), **auth.params}
    body = _body(ctx)
    mode = ctx.inputs.get("pagination") or "off"
    max_pages = int(ctx.inputs.get("max_pages") or 10)
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        pages: list[Any] = []
        page_url, page = url, int(ctx.inputs.get("page_start") or 0) if mode == "page_param" else 0
        for _ in range(max_pages if mode != "off" else 1):
            page_params = dict(params)
            if mode == "page_param":
                page_params[ctx.inputs.get("page_param") or "page"] = page
                page += 1
            response = await _send(ctx, client, method, page_url, params=page_params, headers=headers, body=body,
                                   origin=origin, secrets=secrets)
            if response.is_error and not ctx.inputs.get("never_error"):
                text = _clean(response.text[:ERROR_BODY_CHARS], secrets)
                raise _fail(ctx, f"{method} {page_url} answered {response.status_code} {response.reason_phrase}"
                            + (f": {text}" if text else ""), status=response.status_code, body=text)
            content = _read(ctx, response)
            if mode == "off":
                return _output(ctx, response, content)
            results = get_path(content, ctx.inputs["results_field"]) if ctx.inputs.get("results_field") else content
            if isinstance(results, list):
                if not results:
                    break
                pages.extend(results)
            elif results is not None:
                pages.append(results)
            if mode == "next_url":
                following = rendered(ctx, "next_url", {"status": response.status_code,
                                                       "headers": dict(response.headers), "body": content})
                if following in (None, "") or not isinstance(following, str):
                    break
                page_url = urljoin(page_url, following.strip())
                if origin_of(page_url) != origin:
                    raise _fail(ctx, f"refused the next page {page_url}: it leaves {origin}, the host written in "
                                "the flow", "next_url")
                params, body = {**auth.params}, body if method != "GET" else {}
        return pages
