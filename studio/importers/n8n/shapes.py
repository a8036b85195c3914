"""Where a value an n8n expression reads sits in our node's output when the two differ: n8n's
OpenAI message item `{message: {content}}` is our simplified chat output itself, a Basic LLM
Chain's `{text}` likewise, and an AI Agent's `{output}` is our agent run's `final_output`."""

from __future__ import annotations

from .langchain import LANGCHAIN
from .openai import OPENAI, operation_of
from .workflow import N8nNode

Rules = list[tuple[list[str], list[str]]]


def output_shape(n8n: N8nNode) -> Rules:
    if n8n.type == OPENAI and operation_of(n8n) == ("text", "message") and n8n.param("simplify", True) is not False:
        return [(["message", "content"], [])]
    if n8n.type == LANGCHAIN + "chainLlm":
        return [(["text"], [])]
    if n8n.type == LANGCHAIN + "agent":
        return [(["output"], ["final_output"])]
    return []
