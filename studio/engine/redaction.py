"""What of a node's resolved inputs is kept in run records and the history.

A header value can be a credential that came from a trigger input or an upstream node (a remote
MCP server's `Authorization`, a Raw Request's `Cookie`). The node uses it while it runs; what is
recorded (history, run.json, the inspector) holds a placeholder instead."""

from __future__ import annotations

from typing import Any

# Header names whose values are credentials (compared lower-case).
SECRET_HEADER_NAMES = frozenset({
    "authorization", "proxy-authorization", "api-key", "x-api-key", "openai-api-key", "cookie", "set-cookie",
    "x-auth-token", "x-access-token", "x-csrf-token",
})
REDACTED = "[REDACTED]"


def _redact_headers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in SECRET_HEADER_NAMES and v not in (None, "") else v)
                for k, v in value.items()}
    if isinstance(value, list):  # [{key, value}, ...]
        return [{**item, "value": REDACTED} if isinstance(item, dict) and str(item.get("key", "")).lower()
                in SECRET_HEADER_NAMES and item.get("value") not in (None, "") else item for item in value]
    return value


def recorded_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """`inputs` with the values of credential headers replaced (any input named like `headers`)."""
    for key in inputs:
        if key.endswith("headers"):
            break
    else:
        return inputs
    return {key: (_redact_headers(value) if key.endswith("headers") else value) for key, value in inputs.items()}
