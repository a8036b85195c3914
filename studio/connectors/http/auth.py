"""Credentials of an HTTP connection (type "http"), read from the credential store when the node
runs and added to the request; the secret is never part of the node's inputs or output."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from studio.credentials.store import ConnectionRecord, ConnectionStore, CredentialError
from studio.engine.context import NodeContext, NodeError

AUTH_KINDS = ("bearer", "header", "query", "basic")


@dataclass(frozen=True)
class Auth:
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    params: dict[str, str] = field(default_factory=dict, repr=False)


def connection_auth(ctx: NodeContext) -> Auth:
    """What the node's HTTP connection adds to each request (nothing when Authentication: None)."""
    if (ctx.inputs.get("authentication") or "none") == "none":
        return Auth()
    name = (ctx.inputs.get("connection") or "").strip()
    where = ctx.node.name
    if not name:
        raise NodeError(f"{where}: 'Connection' is required when Authentication is 'HTTP connection'",
                        details={"field": "connection"}, retryable=False)
    store = ctx.services.get("connection_store") or ConnectionStore()
    try:
        record = store.get(name)
    except CredentialError as exc:
        raise NodeError(f"{where}: 'Connection': {exc}", details={"field": "connection"}, retryable=False) from None
    if record.type != "http":
        raise NodeError(f"{where}: connection {name!r} is an {record.type} connection; HTTP Request needs an "
                        "HTTP Credentials connection", details={"field": "connection"}, retryable=False)
    secret = store.api_key(name)
    if not secret:
        raise NodeError(f"{where}: connection {name!r} has no secret saved in the credential store",
                        details={"field": "connection"}, retryable=False)
    try:
        return record_auth(record, secret)
    except CredentialError as exc:
        raise NodeError(f"{where}: {exc}", details={"field": "connection"}, retryable=False) from None


def record_auth(record: ConnectionRecord, secret: str) -> Auth:
    """What an HTTP connection record with its secret adds to a request."""
    kind = record.auth if record.auth in AUTH_KINDS else "bearer"
    header = (record.header_name or "").strip()
    if kind == "bearer":
        return Auth(headers={"Authorization": f"Bearer {secret}"})
    if kind == "basic":
        token = base64.b64encode(f"{record.username or ''}:{secret}".encode()).decode()
        return Auth(headers={"Authorization": f"Basic {token}"})
    if not header:
        raise CredentialError(f"connection {record.name!r} needs a header or parameter name for auth {kind!r}")
    return Auth(headers={header: secret}) if kind == "header" else Auth(params={header: secret})


async def test_http_connection(record: ConnectionRecord, secret: str, url: str) -> str:
    """GET `url` (a URL the user typed to check the credentials) with the connection's auth: a
    short message on a 2xx/3xx answer, else CredentialError with the status. Never shows the secret."""
    import httpx

    if not url.startswith(("http://", "https://")):
        raise CredentialError("type a URL starting with http:// or https:// to test against")
    auth = record_auth(record, secret)
    try:
        async with httpx.AsyncClient(timeout=15, follow_redirects=False) as client:
            response = await client.get(url, headers=auth.headers, params=auth.params)
    except httpx.HTTPError as exc:
        raise CredentialError(f"could not reach {url}: {type(exc).__name__}") from None
    if response.status_code >= 400:
        hint = " (check the secret and how it is sent)" if response.status_code in (401, 403) else ""
        raise CredentialError(f"{url} answered HTTP {response.status_code}{hint}")
    return f"{url} answered HTTP {response.status_code} with these credentials"


test_http_connection.__test__ = False  # type: ignore[attr-defined] - not a pytest test


def secret_values(auth: Auth) -> list[str]:
    """The credential values, to keep out of error messages (a server may echo a request back)."""
    values: list[Any] = [*auth.headers.values(), *auth.params.values()]
    return [str(v) for v in values if v]
