"""Credentials: turn a connection *name* (all a flow file holds) into settings with a key.

Resolution order for a name: the built-in "Simulated (offline)" connection needs no key; a saved
connection takes its key from the secret store, else from OPENAI_API_KEY. With no name (the flow's
default): OPENAI_API_KEY (with OPENAI_BASE_URL / OPENAI_ORG_ID), else the saved connection named
"default", else the only saved one."""

from __future__ import annotations

import os

from studio.connectors.openai.client import DEFAULT_BASE_URL, ConnectionSettings

from .store import ConnectionRecord, ConnectionStore, CredentialError, KeyringStatus

SIMULATED = "Simulated (offline)"
"""Name of the built-in connection answered by a fake OpenAI server in this process."""

ENV_KEY = "OPENAI_API_KEY"

__all__ = [
    "SIMULATED", "ConnectionRecord", "ConnectionSettings", "ConnectionStore", "CredentialError",
    "KeyringStatus", "resolve", "test_connection",
]


def _simulated(base_url_override: str | None) -> ConnectionSettings:
    from studio.connectors.openai.simulated import SIMULATED_API_KEY, ensure_simulated_server

    base_url = base_url_override or ensure_simulated_server()
    return ConnectionSettings(name=SIMULATED, base_url=base_url, api_key=SIMULATED_API_KEY, simulated=True)


def _from_env(name: str, base_url_override: str | None) -> ConnectionSettings | None:
    key = os.environ.get(ENV_KEY, "").strip()
    if not key:
        return None
    return ConnectionSettings(
        name=name,
        base_url=base_url_override or os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL,
        api_key=key,
        organization=os.environ.get("OPENAI_ORG_ID", "").strip() or None,
    )


def resolve(name: str | None, base_url_override: str | None = None,
            store: ConnectionStore | None = None) -> ConnectionSettings:
    """Settings for connection `name` (None: the default). Raises CredentialError naming the
    connection and what is missing; the message never contains a key."""
    if name == SIMULATED:
        return _simulated(base_url_override)
    store = store or ConnectionStore()
    if not name:
        settings = _from_env("default", base_url_override)
        if settings is not None:
            return settings
        records = [r for r in store.list() if r.type == "openai"]  # HTTP Credentials are not OpenAI keys
        record = next((r for r in records if r.name == "default"), None)
        if record is None and len(records) == 1:
            record = records[0]
        if record is None:
            raise CredentialError(
                "no connection chosen and no default: set OPENAI_API_KEY, save a connection named "
                f"'default', or pick one (or {SIMULATED!r}) in the node's Connection field"
            )
    else:
        record = store.get(name)
        if record.type != "openai":
            raise CredentialError(f"connection {name!r} is an {record.type} connection, not an OpenAI one; pick an "
                                  "OpenAI connection for this node")
    key = store.api_key(record.name) or os.environ.get(ENV_KEY, "").strip() or None
    if not key:
        raise CredentialError(
            f"connection {record.name!r} has no API key: save one in Connections ({store.keyring_status().message}) "
            f"or set {ENV_KEY}"
        )
    return ConnectionSettings(name=record.name, base_url=base_url_override or record.base_url, api_key=key,
                              organization=record.organization)


async def test_connection(settings: ConnectionSettings) -> str:
    """List Models with `settings`: a short success message, or the mapped error raised."""
    from studio.connectors.openai.client import OpenAIClient
    from studio.connectors.openai.errors import map_openai_error

    client = OpenAIClient(settings.model_copy(update={"max_retries": 0}))
    try:
        page = await client.sdk.models.list(timeout=15)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one readable message
        raise map_openai_error(exc, settings.name) from None
    finally:
        await client.aclose()
    count = len(page.data)
    return f"connected to {settings.base_url}: {count} model{'s' if count != 1 else ''} available"


test_connection.__test__ = False  # type: ignore[attr-defined] - not a pytest test
