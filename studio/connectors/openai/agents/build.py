"""Turn the JSON configurations of the agent nodes into Agents SDK objects for one run.

Everything is built per run with the node's own OpenAI client (a model provider in the run's
RunConfig), so connections never leak into process-wide SDK defaults."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from agents import (
    Agent,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionTool,
    ImageGenerationTool,
    ModelBehaviorError,
    ModelProvider,
    OpenAIResponsesModel,
    WebSearchTool,
)
from agents.agent_output import AgentOutputSchemaBase
from agents.model_settings import ModelSettings
from agents.models.default_models import get_default_model_settings, gpt_5_reasoning_settings_required
from agents.strict_schema import ensure_strict_json_schema

from studio.engine.context import NodeError

from .build_context import BuildContext, FlowRunner  # noqa: F401 - FlowRunner is part of this module's API
from .config import tool_identifier
from .mcp_servers import build_mcp_server

DEFAULT_MODEL = "gpt-4.1"
# A host may set another default model for the agents of its runs (services[...]).
DEFAULT_MODEL_SERVICE = "agent_default_model"

class ClientProvider(ModelProvider):
    """Every model of this run goes through the node's connection (Responses API)."""

    def __init__(self, sdk_client: Any, default_model: str = DEFAULT_MODEL) -> None:
        self.client = sdk_client
        self.default_model = default_model

    def get_model(self, model_name: str | None) -> Any:
        return OpenAIResponsesModel(model=model_name or self.default_model, openai_client=self.client)


def default_model(services: dict[str, Any]) -> str:
    """The model of an agent whose configuration names none: the run's default, never the SDK's."""
    return str(services.get(DEFAULT_MODEL_SERVICE) or DEFAULT_MODEL)


def model_settings_for(model: str) -> ModelSettings:
    """Settings sent with every call of `model`: reasoning/verbosity defaults only for the
    reasoning models that need them (gpt-5 family); other models get none, because the API
    refuses `reasoning` and `text.verbosity` for non-reasoning models such as gpt-4.1."""
    if gpt_5_reasoning_settings_required(model):
        return get_default_model_settings(model)
    return ModelSettings()


class JsonSchemaOutput(AgentOutputSchemaBase):
    """Structured output from a JSON Schema given in the flow (not a Python type); the model's
    answer is parsed and validated against it, and a mismatch fails the run."""

    def __init__(self, schema: dict[str, Any], name: str = "output", strict: bool = False) -> None:
        if schema.get("type", "object") != "object":
            # The API wants an object at the top; wrap anything else.
            schema = {"type": "object", "properties": {"value": schema}, "required": ["value"],
                      "additionalProperties": False}
            self._wrapped = True
        else:
            self._wrapped = False
        self._strict = bool(strict)
        self._schema = ensure_strict_json_schema(dict(schema)) if self._strict else dict(schema)
        self._validator_schema = schema
        self._name = tool_identifier(name, "output")
        jsonschema.Draft202012Validator.check_schema(schema)

    def is_plain_text(self) -> bool:
        return False

    def name(self) -> str:
        return self._name

    def json_schema(self) -> dict[str, Any]:
        return self._schema

    def is_strict_json_schema(self) -> bool:
        return self._strict

    def validate_json(self, json_str: str) -> Any:
        try:
            value = json.loads(json_str)
        except json.JSONDecodeError as exc:
            raise ModelBehaviorError(f"the model's output is not JSON ({exc.msg})") from None
        errors = sorted(jsonschema.Draft202012Validator(self._validator_schema).iter_errors(value), key=str)
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            raise ModelBehaviorError(f"the model's output does not match the output schema at {where}: {first.message}")
        return value["value"] if self._wrapped else value


# --- tools -----------------------------------------------------------------------------------------

def _json_result(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _function_tool(cfg: dict[str, Any], bc: BuildContext) -> FunctionTool:
    kind = cfg.get("kind")
    name = tool_identifier(cfg.get("name") or kind or "tool")
    if kind == "human_approval":
        bc.approval_tools.add(name)

        async def approved(_ctx: Any, arguments: str) -> str:
            args = json.loads(arguments or "{}")
            return json.dumps({"approved": True, "arguments": args})

        schema = dict(cfg.get("parameters") or {})
        strict = schema.get("additionalProperties") is False and set(schema.get("required") or []) == set(
            (schema.get("properties") or {}).keys())
        return FunctionTool(name=name, description=cfg.get("description") or "", params_json_schema=schema,
                            on_invoke_tool=approved, strict_json_schema=strict, needs_approval=True)
    if kind == "flow":
        if bc.run_flow_tool is None:
            raise NodeError(f"{bc.where}: flow tools cannot run here", retryable=False)
        from .flow_tools import flow_tool_schema

        schema = flow_tool_schema(cfg, bc.services, bc.where)
        strict = bool(cfg.get("strict"))
        if strict:
            schema = ensure_strict_json_schema(schema)
        runner = bc.run_flow_tool

        async def invoke(tool_ctx: Any, arguments: str) -> str:
            args = json.loads(arguments or "{}")
            outcome = await runner(cfg, args)
            call_id = getattr(tool_ctx, "tool_call_id", None)
            if isinstance(outcome, dict) and set(outcome) == {"error"} and call_id:
                # the model reads the error; the run shows a failed tool call, not a result
                bc.failed_calls[str(call_id)] = f"flow tool {cfg.get('flow_name')!r}: {outcome['error']}"
            return _json_result(outcome)

        return FunctionTool(name=name, description=cfg.get("description") or "", params_json_schema=schema,
                            on_invoke_tool=invoke, strict_json_schema=strict,
                            needs_approval=bool(cfg.get("requires_approval")))
    if kind == "function":
        # A Python function a host application registered under this name.
        tools = bc.services.get("agent_function_tools") or {}
        tool = tools.get(cfg.get("name"))
        if not isinstance(tool, FunctionTool):
            raise NodeError(f"{bc.where}: no function tool named {cfg.get('name')!r} is available in this run",
                            retryable=False)
        return tool
    raise NodeError(f"{bc.where}: unknown tool kind {kind!r}", retryable=False)


def build_tool(cfg: dict[str, Any], bc: BuildContext) -> Any:
    kind = cfg.get("kind")
    if kind == "web_search":
        kwargs: dict[str, Any] = {"search_context_size": cfg.get("search_context_size") or "medium"}
        if cfg.get("user_location"):
            kwargs["user_location"] = cfg["user_location"]
        return WebSearchTool(**kwargs)
    if kind == "file_search":
        kwargs = {"vector_store_ids": list(cfg.get("vector_store_ids") or []),
                  "include_search_results": bool(cfg.get("include_search_results", True))}
        if cfg.get("max_num_results"):
            kwargs["max_num_results"] = int(cfg["max_num_results"])
        if cfg.get("ranking_options"):
            kwargs["ranking_options"] = cfg["ranking_options"]
        return FileSearchTool(**kwargs)
    if kind == "code_interpreter":
        return CodeInterpreterTool(tool_config={"type": "code_interpreter", "container": cfg.get("container") or {"type": "auto"}})
    if kind == "image_generation":
        return ImageGenerationTool(tool_config={"type": "image_generation", **(cfg.get("options") or {})})
    return _function_tool(cfg, bc)


# --- agents ----------------------------------------------------------------------------------------


def build_agent(cfg: dict[str, Any], bc: BuildContext, *, handoffs: list[Agent] | None = None,
                servers: list[Any] | None = None) -> Agent:
    """One SDK agent from an Agent: Create configuration. MCP server objects are appended to
    `servers` so the caller connects and closes them."""
    name = str(cfg.get("name") or "Agent")
    if name in bc.agents:
        raise NodeError(f"{bc.where}: two agents are named {name!r}; agent names must differ so a paused "
                        "run can be resumed", retryable=False)
    tools = [build_tool(t, bc) for t in cfg.get("tools") or []]
    mcp = [build_mcp_server(s, bc) for s in cfg.get("mcp_servers") or []]
    if servers is not None:
        servers.extend(mcp)
    output_type = None
    if cfg.get("output_schema"):
        try:
            output_type = JsonSchemaOutput(cfg["output_schema"], cfg.get("output_schema_name") or "output",
                                           bool(cfg.get("output_schema_strict")))
        except (jsonschema.SchemaError, Exception) as exc:
            raise NodeError(f"{bc.where}: agent {name!r} has an output schema that cannot be used: {exc}",
                            retryable=False) from exc
    # The model and its settings are decided here, together: with no model the SDK would pick its
    # own default model's settings (reasoning effort, verbosity) and send them to our default model.
    model = str(cfg.get("model") or "").strip() or default_model(bc.services)
    agent = Agent(
        name=name,
        instructions=cfg.get("instructions") or None,
        handoff_description=cfg.get("handoff_description") or None,
        model=model,
        model_settings=model_settings_for(model),
        tools=tools,
        mcp_servers=mcp,
        handoffs=list(handoffs or []),
        output_type=output_type,
    )
    bc.agents[name] = agent
    return agent


def build_agents(main: dict[str, Any], handoff_cfgs: list[dict[str, Any]], bc: BuildContext,
                 servers: list[Any]) -> Agent:
    """The starting agent with the agents it may hand the conversation to."""
    targets = [build_agent(h, bc, servers=servers) for h in handoff_cfgs]
    return build_agent(main, bc, handoffs=targets, servers=servers)


def _name_structured_outputs() -> None:
    """The SDK names every structured output "final_output"; Agent: Create lets users name it, so
    outputs from a flow's JSON Schema carry that name (other agents are left as the SDK makes them)."""
    try:
        from agents.models.openai_responses import Converter
    except ImportError:  # pragma: no cover - another SDK layout: keep its default name
        return
    original = Converter.__dict__.get("get_response_format")
    if not isinstance(original, classmethod) or getattr(original.__func__, "_studio_named", False):
        return
    base = original.__func__

    def get_response_format(cls: Any, output_schema: Any) -> Any:
        value = base(cls, output_schema)
        if isinstance(output_schema, JsonSchemaOutput) and isinstance(value, dict) and "format" in value:
            value = {**value, "format": {**value["format"], "name": output_schema.name()}}
        return value

    get_response_format._studio_named = True  # type: ignore[attr-defined]
    Converter.get_response_format = classmethod(get_response_format)


_name_structured_outputs()
