"""The JSON Schema of `*.flow.json` files, generated from the models so it cannot drift.
`docs/flow.schema.json` is a checked-in copy (a test keeps it equal); `studio schema` prints it."""

from __future__ import annotations

from typing import Any

from .models import FORMAT_VERSION, Flow

SCHEMA_ID = "https://flow-studio.dev/schemas/flow.schema.json"


def flow_json_schema() -> dict[str, Any]:
    """The schema of the format this build writes (FORMAT_VERSION)."""
    schema = Flow.model_json_schema(mode="validation")
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Flow Studio flow",
    }
    out.update({k: v for k, v in schema.items() if k != "title"})
    out["description"] = (
        f"A Flow Studio flow file (*.flow.json), format {FORMAT_VERSION}. Secrets are never stored "
        "here: a node names a connection and the key lives in the credential store."
    )
    return out
