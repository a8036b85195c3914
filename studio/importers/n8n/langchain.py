"""n8n's AI nodes: the AI Agent (with its OpenAI chat model, memory, tools and structured output
parser sub-nodes) and the Basic LLM Chain. Sub-nodes that are settings here (the model, a window
memory, the parser) are folded into the nodes they belong to; workflow tools become flow tools."""

from __future__ import annotations

import json
from typing import Any

from .context import Context, Mapped, maps, wire
from .triggers import LANGCHAIN, schema_from_example
from .workflow import N8nNode

CHAT_MODEL = LANGCHAIN + "lmChatOpenAi"
WINDOW_MEMORY = LANGCHAIN + "memoryBufferWindow"
STRUCTURED_PARSER = LANGCHAIN + "outputParserStructured"
WORKFLOW_TOOL = LANGCHAIN + "toolWorkflow"
DEFAULT_CHAT_MODEL = "gpt-4o-mini"  # lmChatOpenAi's default in every version
DEFAULT_SYSTEM_MESSAGE = "You are a helpful assistant"  # the AI Agent's options.systemMessage
PARSER_EXAMPLE = {"state": "California", "cities": ["Los Angeles", "San Francisco", "San Diego"]}
PARSER_SCHEMA = {"type": "object", "properties": {"state": {"type": "string"},
                                                  "cities": {"type": "array", "items": {"type": "string"}}}}
# The prompt's default before "Source for Prompt" existed: v1 read `input`, 1.1 `chat_input`,
# then `chatInput` (the Chat Trigger's field).
LEGACY_PROMPT = {1.0: "={{ $json.input }}", 1.1: "={{ $json.chat_input }}"}
LEGACY_PROMPT_DEFAULT = "={{ $json.chatInput }}"


def _warn(ctx: Context, n8n: N8nNode, text: str) -> None:
    ctx.report.warnings.append(f"{ctx.names.get(n8n.name) or n8n.name}: {text}")


def chat_model(ctx: Context, parent: N8nNode) -> tuple[Any, dict[str, Any]]:
    """(model id, options) of the OpenAI chat model attached to `parent`, folded into it."""
    models = ctx.sub_nodes(parent, "ai_languageModel")
    for sub in models:
        if sub.type == CHAT_MODEL:
            ctx.fold(sub)
            model = ctx.param(sub, "model", DEFAULT_CHAT_MODEL) or DEFAULT_CHAT_MODEL
            opts = ctx.param(sub, "options", {})
            return model, opts if isinstance(opts, dict) else {}
    if models:
        _warn(ctx, parent, f"its chat model ({models[0].type}) has no equivalent; {DEFAULT_CHAT_MODEL} is used")
    return DEFAULT_CHAT_MODEL, {}


def _prompt(ctx: Context, n8n: N8nNode, legacy_key: str, auto_from: float) -> Any:
    """The user prompt: before `auto_from` a text field with each version's default; then n8n's
    'connected chat trigger node' mode, which reads `chatInput`, or the text defined below."""
    if n8n.type_version < auto_from:
        return ctx.param(n8n, legacy_key, LEGACY_PROMPT.get(n8n.type_version, LEGACY_PROMPT_DEFAULT))
    if n8n.param("promptType", "auto") == "define":
        return ctx.param(n8n, "text", "")
    return "{{ input.chatInput }}"


def output_schema(ctx: Context, parent: N8nNode) -> dict[str, Any] | None:
    for sub in ctx.sub_nodes(parent, "ai_outputParser"):
        if sub.type != STRUCTURED_PARSER:
            continue
        ctx.fold(sub)
        manual = sub.type_version < 1.2 or sub.param("schemaType", "fromJson") == "manual"
        text = (sub.param("jsonSchema", json.dumps(PARSER_SCHEMA)) if sub.type_version < 1.2
                else sub.param("inputSchema", json.dumps(PARSER_SCHEMA))) if manual \
            else sub.param("jsonSchemaExample", json.dumps(PARSER_EXAMPLE))
        try:
            parsed = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            _warn(ctx, sub, "its schema does not parse as JSON; the output is not structured")
            return None
        schema = parsed if manual else schema_from_example(parsed)
        return schema if isinstance(schema, dict) and schema.get("type") == "object" else None
    return None


def _history(ctx: Context, parent: N8nNode) -> Any:
    for sub in ctx.sub_nodes(parent, "ai_memory"):
        if sub.type == WINDOW_MEMORY:
            ctx.fold(sub)
            if ctx.chat_trigger:
                return "{{ trigger.history }}"
            _warn(ctx, sub, "window memory keeps chat turns; without a Chat Trigger there are none")
    return None


@maps(LANGCHAIN + "agent")
def agent(n8n: N8nNode, ctx: Context) -> Mapped | None:
    # V1's agent type: Conversational by default up to 1.5, Tools from 1.6 (the only one from 1.8).
    kind = n8n.param("agent", "conversationalAgent" if n8n.type_version <= 1.5 else "toolsAgent")
    if n8n.type_version < 1.8 and kind == "sqlAgent":
        return None  # queries a database of its own
    if n8n.type_version < 1.8 and kind != "toolsAgent":
        _warn(ctx, n8n, f"n8n's {kind} becomes a tools-calling agent")
    model, model_opts = chat_model(ctx, n8n)
    if model_opts:
        _warn(ctx, n8n, "chat model options (" + ", ".join(sorted(model_opts)) + ") have no agent equivalent")
    opts = ctx.param(n8n, "options", {})
    opts = opts if isinstance(opts, dict) else {}
    name = ctx.names.get(n8n.name) or ctx.names.add(n8n.name)
    config_values: dict[str, Any] = {
        "model": model,
        "name": name,
        "instructions": opts.get("systemMessage", DEFAULT_SYSTEM_MESSAGE),
    }
    schema = output_schema(ctx, n8n)
    if schema is not None:
        config_values["output_schema"] = schema
    config = ctx.make(n8n, "agent.create", config_values, name=ctx.names.reserve(f"{name} config"), dy=200)
    run_values = {"user_input": _prompt(ctx, n8n, "text", 1.3),
                  "history": _history(ctx, n8n), "max_turns": opts.get("maxIterations")}
    run = ctx.make(n8n, "agent.run", run_values)
    return Mapped(run, extra=[config], extra_wires=[wire(config, "agent", run, "agent")],
                  ai_ports={"ai_tool": (config.id, "tools")})


@maps(LANGCHAIN + "chainLlm")
def basic_chain(n8n: N8nNode, ctx: Context) -> Mapped:
    model, model_opts = chat_model(ctx, n8n)
    messages = []
    raw = ctx.param(n8n, "messages.messageValues", [])
    roles = {"SystemMessagePromptTemplate": "system", "AIMessagePromptTemplate": "assistant",
             "HumanMessagePromptTemplate": "user"}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("message"):
            messages.append({"role": roles.get(str(item.get("type", "SystemMessagePromptTemplate")), "system"),
                             "content": item["message"]})
    messages.append({"role": "user", "content": _prompt(ctx, n8n, "prompt", 1.4)})
    schema = output_schema(ctx, n8n)
    if schema is not None:
        messages.insert(0, {"role": "system", "content": "Answer with JSON that matches this schema: "
                            + json.dumps(schema)})
    values = {"model": model, "messages": messages, "temperature": model_opts.get("temperature"),
              "top_p": model_opts.get("topP"), "max_tokens": model_opts.get("maxTokens"),
              "json_output": True if schema is not None else None, "simplify": True, "stream": False}
    return Mapped(ctx.make(n8n, "chat.create_completion", values))


@maps(WORKFLOW_TOOL)
def workflow_tool(n8n: N8nNode, ctx: Context) -> Mapped | None:
    source = n8n.param("source", "database")
    target = n8n.param("workflowId", "")
    flow_name = None
    if isinstance(target, dict):
        flow_name = target.get("cachedResultName") or target.get("value")
    elif isinstance(target, str):
        flow_name = target
    if source != "database" or not isinstance(flow_name, str) or not flow_name.strip() or flow_name.startswith("="):
        return None
    return Mapped(ctx.make(n8n, "agent.create_flow_tool", {
        "flow_name": flow_name, "tool_description": ctx.param(n8n, "description", "") or None}),
        outputs=["tool"])
