"""Respond to Webhook: the answer (status, headers, body) to the request that started the run,
handed to the webhook server through `services["webhook_response"]` (studio/triggers/webhook.py)
as soon as the node runs; the flow then goes on, the node's input passing through."""

from __future__ import annotations

import json
from typing import Any

from studio.engine.context import NodeContext, NodeError

from ._registry import handles

RESPONSE_SERVICE = "webhook_response"


def build_response(ctx: NodeContext) -> dict[str, Any]:
    """{status, headers, body (text), media_type} from the node's inputs."""
    kind = ctx.inputs.get("respond_with") or "input"
    status = int(ctx.inputs.get("status_code") or 200)
    headers = {str(k): v if isinstance(v, str) else json.dumps(v)
               for k, v in (ctx.inputs.get("headers") or {}).items()}
    body, media = "", None
    if kind in ("input", "json"):
        value = ctx.upstream if kind == "input" else ctx.inputs.get("response_json")
        body, media = json.dumps(value, ensure_ascii=False, default=str), "application/json"
    elif kind == "text":
        body, media = str(ctx.inputs.get("response_text") or ""), "text/plain; charset=utf-8"
    elif kind == "redirect":
        target = (ctx.inputs.get("redirect_url") or "").strip()
        if not target:
            raise NodeError(f"{ctx.node.name}: 'Redirect URL' is required to respond with a redirect",
                            details={"field": "redirect_url"}, retryable=False)
        headers["Location"] = target
        status = status if 300 <= status < 400 else 307
    if media and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = media
    return {"status": status, "headers": headers, "body": body}


@handles("webhook.respond")
async def respond(ctx: NodeContext) -> Any:
    answer = build_response(ctx)
    sink = ctx.services.get(RESPONSE_SERVICE)
    if callable(sink):
        sink(answer)
    else:
        ctx.emit("progress", message="no webhook request is waiting for an answer (the run was not started "
                                     "by a webhook that responds with this node)")
    return ctx.upstream

