"""Handlers of the trigger nodes: each outputs the payload the run was started with.

The runner passes that payload in `services["trigger_payload"]`; a trigger's own inputs describe
the fields it expects (the Manual trigger fills in their defaults for fields the caller left out)."""

from __future__ import annotations

import time
from typing import Any

from .context import NodeContext
from .handlers import register, runs_inline

TRIGGER_PAYLOAD = "trigger_payload"


def _payload(ctx: NodeContext) -> Any:
    return ctx.services.get(TRIGGER_PAYLOAD)


def declared_fields(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The `fields` a trigger declares, each as a dict with a `name`, whichever way they were
    written: a list of {name|key, label, type, default|value} or the shorthand {name: default}."""
    fields = inputs.get("fields")
    if isinstance(fields, dict):
        return [{"name": str(k), "default": v} for k, v in fields.items()]
    found = []
    for item in fields if isinstance(fields, list) else []:
        if isinstance(item, dict) and (item.get("name") or item.get("key")):
            found.append({**item, "name": str(item.get("name") or item.get("key"))})
    return found


def declared_defaults(inputs: dict[str, Any]) -> dict[str, Any]:
    """Defaults of the fields a trigger declares (`declared_fields`), or of a JSON schema
    (`schema`/`input_schema`) whose properties carry `default`."""
    defaults: dict[str, Any] = {}
    for item in declared_fields(inputs):
        value = item.get("default", item.get("value"))
        if value is not None:
            defaults[item["name"]] = value
    for key in ("schema", "input_schema"):
        schema = inputs.get(key)
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            for name, spec in schema["properties"].items():
                if isinstance(spec, dict) and "default" in spec:
                    defaults.setdefault(str(name), spec["default"])
    return defaults


@register("trigger.manual")
@runs_inline
async def manual(ctx: NodeContext) -> Any:
    """The caller's payload merged over the declared fields' defaults."""
    payload = _payload(ctx)
    defaults = declared_defaults(ctx.inputs)
    if payload is None:
        return defaults
    if isinstance(payload, dict):
        return {**defaults, **payload}
    return payload


@register("trigger.schedule")
@runs_inline
async def schedule(ctx: NodeContext) -> Any:
    payload = _payload(ctx)
    return payload if payload is not None else {"fired_at": time.time()}


@register("trigger.webhook")
@runs_inline
async def webhook(ctx: NodeContext) -> Any:
    payload = _payload(ctx)
    return payload if payload is not None else {}


@register("trigger.chat")
@runs_inline
async def chat(ctx: NodeContext) -> Any:
    """A chat message; plain text is wrapped as {"chatInput": text} like the chat window sends."""
    payload = _payload(ctx)
    if isinstance(payload, str):
        return {"chatInput": payload}
    return payload if payload is not None else {}


@register("trigger.tool_flow")
@runs_inline
async def tool_flow(ctx: NodeContext) -> Any:
    """The arguments an agent called this flow (as a tool) with."""
    payload = _payload(ctx)
    defaults = declared_defaults(ctx.inputs)
    if isinstance(payload, dict):
        return {**defaults, **payload}
    return payload if payload is not None else defaults
