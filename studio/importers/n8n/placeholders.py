"""Nodes without an equivalent: an `unsupported.n8n` placeholder that keeps the n8n node's name,
position, type, parameters and wires (one output port per n8n output), drawn as unsupported and
failing clearly if a run reaches it."""

from __future__ import annotations

from studio.catalog.data.imported import UNSUPPORTED_N8N

from .context import Context, Mapped
from .workflow import N8nNode


def output_port(index: int) -> str:
    return "output" if index == 0 else f"output_{index}"


def placeholder(n8n: N8nNode, ctx: Context, outputs: int) -> Mapped:
    count = max(1, min(outputs, 64))
    ports = [output_port(i) for i in range(count)]
    values = {
        "n8n_type": n8n.type or "(no type)",
        "n8n_type_version": n8n.type_version,
        "parameters": ctx.value(n8n, "parameters", n8n.parameters),
        "outputs": {port: f"Output {i + 1}" for i, port in enumerate(ports)},
    }
    node = ctx.make(n8n, UNSUPPORTED_N8N, values)
    ctx.report.placeholder(node.name, n8n.type or "(no type)")
    return Mapped(node, outputs=ports, ai_ports={kind: (node.id, "sub_nodes") for kind in (
        "ai_languageModel", "ai_memory", "ai_tool", "ai_outputParser", "ai_embedding", "ai_document",
        "ai_textSplitter", "ai_retriever", "ai_vectorStore", "ai_reranker")})
