"""Opening a flow's connections for a run: each connection name the flow's nodes use is resolved
once through the credential store (with a base-URL override applied) and its client comes from
one shared pool. A server on this machine gets a placeholder key; anything else needs a real one."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any
from urllib.parse import urlparse

from studio.catalog import load_catalog
from studio.connectors.openai.client import ClientPool, load_http_stack
from studio.credentials import ConnectionSettings, resolve
from studio.engine.context import NodeError

# Used only for servers on this machine (a local OpenAI-compatible server or the simulator),
# which ignore the key but whose clients insist on sending one.
PLACEHOLDER_KEY = "sk-local-placeholder"


class UsageError(Exception):
    """Bad input from whoever starts the run (a missing key, an untrusted flow, a bad --input);
    the message says what to write or do instead."""


def is_local_url(url: str) -> bool:
    """True for servers on this machine (loopback addresses, localhost)."""
    host = (urlparse(url).hostname or "").strip("[]").lower()
    if host in {"localhost", "localhost.localdomain"} or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connection_names(flow: Any, catalog: Any = None) -> set[str | None]:
    """The connections the flow's enabled nodes name (None: the default connection). Names
    computed by expressions are resolved when the node runs."""
    names: set[str | None] = set()
    catalog = catalog if catalog is not None else load_catalog()
    for node in flow.nodes:
        if node.disabled:
            continue
        action = catalog.get(node.action) if node.action in catalog else None
        if action is not None and not action.uses_connection:
            continue
        value = node.values.get("connection")
        if value is None or value == "":
            if action is not None:
                names.add(None)
        elif isinstance(value, str) and "{{" not in value:
            names.add(value)
    return names


class Connector:
    """Opens the flow's connections for handlers: each name is resolved once through the
    credential store (with `base_url` applied) and its client comes from one shared pool.
    `fallback` names the connection for nodes left at "default" (the editor's "Run on")."""

    def __init__(self, base_url: str | None = None, *, pool: Any = None, fallback: str | None = None) -> None:
        self.base_url = base_url
        self.pool = pool if pool is not None else ClientPool()
        self.fallback = fallback
        self._settings: dict[str | None, Any] = {}

    def settings(self, name: str | None) -> Any:
        """The ConnectionSettings for `name`; UsageError explains a missing key or connection."""
        if name in self._settings:
            return self._settings[name]
        try:
            settings = resolve(name, base_url_override=self.base_url)
        except Exception as exc:  # unknown connection, no key ...: the user must fix the setup
            settings = self._placeholder(name, exc)
        if not getattr(settings, "api_key", None):
            settings = self._placeholder(name, None, settings)
        self._settings[name] = settings
        return settings

    def check(self, flow: Any, catalog: Any = None) -> None:
        """Resolve every connection the flow names now, so a missing key is reported before
        anything runs (UsageError), and get the TLS set-up out of the way."""
        names = connection_names(flow, catalog)
        for name in sorted(names, key=lambda n: n or ""):
            self.settings(name or self.fallback)
        if names:
            load_http_stack()  # the CA bundle and the I/O backend load with the set-up, not in the first node

    def _placeholder(self, name: str | None, error: Exception | None, settings: Any = None) -> Any:
        """A server on this machine gets a placeholder key; anything else needs a real one."""
        label = f"connection {name!r}" if name else "the default connection"
        if self.base_url and is_local_url(self.base_url):
            if settings is not None:
                return _with_key(settings, PLACEHOLDER_KEY)
            return ConnectionSettings(name=name or "default", base_url=self.base_url, api_key=PLACEHOLDER_KEY)
        local = " (a --base-url on this machine needs no key)" if self.base_url else ""
        if error is not None:  # the credential store already says what is missing and what to do
            raise UsageError(f"{label}: {error}{local}")
        raise UsageError(f"no API key for {label}. Save one in the editor's Connections, or set OPENAI_API_KEY{local}")

    async def connect(self, name: str | None) -> Any:
        """What the executor calls when a node opens its connection."""
        try:
            settings = self.settings(name or self.fallback or None)
        except UsageError as exc:
            raise NodeError(str(exc), retryable=False) from None
        return await self.pool.get(settings)

    async def aclose(self) -> None:
        await self.pool.aclose()


def _with_key(settings: Any, key: str) -> Any:
    if hasattr(settings, "model_copy"):
        return settings.model_copy(update={"api_key": key})
    return dataclasses.replace(settings, api_key=key)
