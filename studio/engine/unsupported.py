"""The handler of imported placeholders (`unsupported.n8n`): a run that reaches one stops there
with a message naming the original node type, instead of doing something else in its place."""

from __future__ import annotations

from typing import Any

from .context import NodeContext, NodeError
from .handlers import register


@register("unsupported.n8n")
async def unsupported_n8n(ctx: NodeContext) -> Any:
    kind = ctx.inputs.get("n8n_type") or "an unknown type"
    raise NodeError(
        f"{ctx.node.name}: imported n8n node of type {kind} has no Flow Studio equivalent; "
        "replace it with a node that does the same job (its n8n parameters are kept in 'n8n Parameters')",
        retryable=False,
    )
