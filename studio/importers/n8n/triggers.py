"""n8n's Manual, Schedule, Webhook, Chat and Execute Workflow triggers as our triggers."""

from __future__ import annotations

import json
from typing import Any

from .context import Context, Mapped, maps
from .workflow import N8nNode

BASE = "n8n-nodes-base."
LANGCHAIN = "@n8n/n8n-nodes-langchain."


@maps(BASE + "manualTrigger", BASE + "start")
def manual(n8n: N8nNode, ctx: Context) -> Mapped:
    return Mapped(ctx.make(n8n, "trigger.manual", {}))


def _count(value: Any, default: int) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 10_000 else default


def schedule_rule(rule: dict[str, Any], warn: Any) -> dict[str, Any]:
    """One n8n schedule rule (`rule.interval[0]`) as cron or interval_seconds."""
    kind = rule.get("field", "days")
    minute = _count(rule.get("triggerAtMinute"), 0) if rule.get("triggerAtMinute") else 0
    hour = _count(rule.get("triggerAtHour"), 0) if rule.get("triggerAtHour") else 0
    if kind == "seconds":
        return {"interval_seconds": _count(rule.get("secondsInterval"), 30)}
    if kind == "minutes":
        return {"interval_seconds": 60 * _count(rule.get("minutesInterval"), 5)}
    if kind == "hours":
        every = _count(rule.get("hoursInterval"), 1)
        return {"cron": f"{minute} {'*' if every == 1 else f'*/{every}'} * * *"}
    if kind == "days":
        every = _count(rule.get("daysInterval"), 1)
        return {"cron": f"{minute} {hour} {'*' if every == 1 else f'*/{every}'} * *"}
    if kind == "weeks":
        days = rule.get("triggerAtDay") or [0]
        days = [d for d in days if isinstance(d, int) and 0 <= d <= 6] if isinstance(days, list) else [0]
        if _count(rule.get("weeksInterval"), 1) != 1:
            warn("every n weeks has no cron equivalent; the schedule runs every week")
        return {"cron": f"{minute} {hour} * * {','.join(str(d) for d in days) or '0'}"}
    if kind == "months":
        every = _count(rule.get("monthsInterval"), 1)
        day = _count(rule.get("triggerAtDayOfMonth"), 1)
        return {"cron": f"{minute} {hour} {day} {'*' if every == 1 else f'*/{every}'} *"}
    if kind == "cronExpression":
        expression = str(rule.get("expression") or "").strip()
        fields = expression.split()
        if len(fields) == 6:
            warn(f"the cron expression {expression!r} has seconds; they are dropped")
            fields = fields[1:]
        return {"cron": " ".join(fields)} if len(fields) == 5 else {"interval_seconds": 3600}
    return {"cron": "0 0 * * *"}


@maps(BASE + "scheduleTrigger")
def schedule(n8n: N8nNode, ctx: Context) -> Mapped:
    rules = n8n.param("rule.interval", [{"field": "days"}])
    rules = [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
    name = ctx.names.get(n8n.name) or n8n.name

    def warn(text: str) -> None:
        ctx.report.warnings.append(f"{name}: {text}")

    if len(rules) > 1:
        warn(f"{len(rules)} schedule rules; only the first is kept")
    values = schedule_rule(rules[0] if rules else {"field": "days"}, warn)
    timezone = ctx.settings.get("timezone")
    if isinstance(timezone, str) and timezone and timezone != "DEFAULT":
        values["timezone"] = timezone
    return Mapped(ctx.make(n8n, "trigger.schedule", values))


WEBHOOK_METHODS = {"POST", "GET", "PUT", "PATCH", "DELETE"}


@maps(BASE + "webhook")
def webhook(n8n: N8nNode, ctx: Context) -> Mapped:
    method = n8n.param("httpMethod", "GET")
    if isinstance(method, list):  # "multiple methods" option
        method = method[0] if method else "GET"
    method = str(method).upper() if str(method).upper() in WEBHOOK_METHODS else "POST"
    path = str(n8n.param("path", "") or "").strip("/") or (ctx.names.get(n8n.name) or "hook").replace(" ", "-").lower()
    mode = n8n.param("responseMode", "onReceived")
    values: dict[str, Any] = {"method": method, "path": "/" + path,
                              "response_mode": {"lastNode": "last_node", "responseNode": "respond_node"}.get(mode)}
    return Mapped(ctx.make(n8n, "trigger.webhook", values))


@maps(LANGCHAIN + "chatTrigger", LANGCHAIN + "manualChatTrigger")
def chat(n8n: N8nNode, ctx: Context) -> Mapped:
    values: dict[str, Any] = {}
    initial = n8n.param("initialMessages")
    if isinstance(initial, str) and initial.strip() and n8n.param("public", False):
        values["welcome_message"] = initial
    return Mapped(ctx.make(n8n, "trigger.chat", values))  # reply_node is set once wires are known


_SCHEMA_TYPES = {"string": "string", "number": "number", "boolean": "boolean", "array": "array",
                 "object": "object", "any": None}


def schema_from_example(example: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON Schema that a JSON example fits (n8n's 'JSON example' inputs and output parsers)."""
    if depth > 20:
        return {}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, (int, float)):
        return {"type": "number"}
    if isinstance(example, str):
        return {"type": "string"}
    if isinstance(example, list):
        return {"type": "array", "items": schema_from_example(example[0], depth + 1) if example else {}}
    if isinstance(example, dict):
        return {"type": "object", "properties": {str(k): schema_from_example(v, depth + 1) for k, v in example.items()},
                "required": [str(k) for k in example]}
    return {}


@maps(BASE + "executeWorkflowTrigger")
def execute_workflow(n8n: N8nNode, ctx: Context) -> Mapped:
    source = n8n.param("inputSource", "workflowInputs" if n8n.type_version >= 1.1 else "passthrough")
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    if source == "workflowInputs":
        fields = n8n.param("workflowInputs.values", [])
        for item in fields if isinstance(fields, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
                kind = _SCHEMA_TYPES.get(str(item.get("type", "string")), "string")
                schema["properties"][item["name"]] = {"type": kind} if kind else {}
    elif source == "jsonExample":
        try:
            schema = schema_from_example(json.loads(str(n8n.param("jsonExample", "{}"))))
        except ValueError:
            ctx.report.warnings.append(f"{ctx.names.get(n8n.name)}: the JSON example does not parse; no parameters")
    else:
        schema = {"type": "object", "properties": {}, "additionalProperties": True}
    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {}}
    return Mapped(ctx.make(n8n, "trigger.tool_flow", {"input_schema": schema}))
