"""Agent: Run, Agent: Resume Run and Agent: Classify and Branch.

A run streams: model text becomes `delta` events, each tool call and result `tool_call` /
`tool_result` events and each handoff a `handoff` event, so the editor shows the agent working.
When a tool needs approval the node ends `waiting` with the requests and the SDK's serialised
RunState; the same node resumes from that state when the runner hands it decisions in
`services["agent_resume"][node id]` (how `studio resume` continues a run in a new process)."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import openai
from agents import (
    Agent,
    AgentsException,
    MaxTurnsExceeded,
    RunConfig,
    Runner,
    RunState,
    ToolApprovalItem,
)

from studio.connectors.openai.actions._common import (
    InputError,
    json_value,
    key_values,
    mapped_error,
    required,
    string_list,
)
from studio.engine.context import NodeContext, NodeError, Routed, WaitingForApproval
from studio.engine.handlers import register

from .build import ClientProvider, JsonSchemaOutput, build_agent, build_agents, default_model
from .build_context import BuildContext
from .config import _configs, agent_config, agent_configs
from .mcp_servers import check_tool_filters, connect_servers, describe_mcp_failure, mcp_timeout

RESUME_SERVICE = "agent_resume"
STATE_KIND = "agent_run_state"
PREVIEW = 2000


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _args(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _clip(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 3] + "..."


# --- inputs ----------------------------------------------------------------------------------------


def user_items(ctx: NodeContext) -> list[dict[str, Any]] | str:
    """The run's input: earlier history, then this turn's text with any attached files."""
    history = json_value(ctx, "history")
    if history is not None and not isinstance(history, list):
        raise InputError(f"{ctx.node.name}: 'History' must be the history array of an earlier agent run")
    text = ctx.inputs.get("user_input")
    files = string_list(ctx.inputs.get("file_ids"))
    items: list[dict[str, Any]] = list(history or [])
    if text not in (None, "") or files:
        content: list[dict[str, Any]] = []
        if text not in (None, ""):
            content.append({"type": "input_text", "text": text if isinstance(text, str) else json.dumps(text)})
        content.extend({"type": "input_file", "file_id": f} for f in files)
        items.append({"role": "user", "content": content})
    if not items:
        raise InputError(f"{ctx.node.name}: give 'User Input' or 'History'")
    return items


def _max_turns(ctx: NodeContext) -> int:
    value = ctx.inputs.get("max_turns") or 10
    return max(1, int(value))


# --- running ---------------------------------------------------------------------------------------


class AgentSession:
    """One node's agents, MCP connections and model provider for the length of one run."""

    def __init__(self, ctx: NodeContext, main: dict[str, Any], handoffs: list[dict[str, Any]]) -> None:
        from .flow_tools import flow_tool_runner

        self.ctx = ctx
        self.bc = BuildContext(where=ctx.node.name, services=ctx.services, run_flow_tool=flow_tool_runner(ctx),
                               emit=ctx.emit)
        self.servers: list[Any] = []
        self.agent = build_agents(main, handoffs, self.bc, self.servers)
        self.stack = AsyncExitStack()
        # Whether this run did anything a retry would repeat: a model answered, or a tool ran
        # (approved human-approval calls, which only return the decision, do not count).
        self.worked = False
        self.harmless_calls: set[str] = set()

    async def __aenter__(self) -> "AgentSession":
        await self.stack.__aenter__()
        try:
            timeout = mcp_timeout(self.ctx.services)
            await connect_servers(self.stack, self.servers, self.ctx.node.name, timeout)
            await check_tool_filters(self.servers, self.ctx.emit, timeout)
        except BaseException:
            await self.stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stack.__aexit__(*exc)

    async def run(self, run_input: Any, *, max_turns: int, previous_response_id: str | None = None) -> Any:
        ctx = self.ctx
        client = await ctx.connect(ctx.inputs.get("connection") or None)
        config = RunConfig(model_provider=ClientProvider(client.sdk, default_model(ctx.services)), tracing_disabled=True,
                           workflow_name=f"{ctx.flow.name} / {ctx.node.name}")
        result = None
        try:
            result = Runner.run_streamed(self.agent, run_input, max_turns=max_turns, run_config=config,
                                         previous_response_id=previous_response_id or None)
            await stream_events(ctx, result, self)
        except asyncio.CancelledError:
            if result is not None:
                result.cancel()  # stop the SDK's own background task too
            raise
        except NodeError:
            raise
        except MaxTurnsExceeded as exc:
            raise NodeError(f"{ctx.node.name}: the agent did not finish within {max_turns} turns "
                            "(raise 'Max Turns' if it needs more)", details={"max_turns": max_turns},
                            retryable=False) from exc
        except AgentsException as exc:
            raise NodeError(f"{ctx.node.name}: {type(exc).__name__}: {exc}", retryable=False) from exc
        except openai.OpenAIError as exc:
            raise mapped_error(ctx, exc) from exc
        except ExceptionGroup as exc:  # a task group of the SDK or an MCP client: say what is inside
            raise NodeError(f"{ctx.node.name}: {describe_mcp_failure(exc, None, mcp_timeout(ctx.services))}") from exc
        return result


async def stream_events(ctx: NodeContext, result: Any, session: "AgentSession | None" = None) -> None:
    """Report the run's steps as engine events while it streams."""
    agent_name = result.current_agent.name if getattr(result, "current_agent", None) else None
    async for event in result.stream_events():
        kind = event.type
        if kind == "raw_response_event":
            data = event.data
            if getattr(data, "type", "") == "response.output_text.delta" and getattr(data, "delta", ""):
                ctx.emit("delta", text=data.delta, agent=agent_name)
            elif getattr(data, "type", "") == "response.completed":
                if session is not None:
                    session.worked = True
                # Token usage per model call (the node's usage is their sum).
                response = getattr(data, "response", None)
                used = getattr(response, "usage", None)
                if used is not None:
                    ctx.emit("usage", agent=agent_name, model=getattr(response, "model", None),
                             response_id=getattr(response, "id", None),
                             usage={"input_tokens": int(getattr(used, "input_tokens", 0) or 0),
                                    "output_tokens": int(getattr(used, "output_tokens", 0) or 0),
                                    "total_tokens": int(getattr(used, "total_tokens", 0) or 0)})
        elif kind == "agent_updated_stream_event":
            agent_name = event.new_agent.name
        elif kind == "run_item_stream_event":
            item = event.item
            raw = item.raw_item
            if event.name == "tool_called":
                ctx.emit("tool_call", agent=agent_name, call_id=_get(raw, "call_id") or _get(raw, "id"),
                         tool=_get(raw, "name") or _get(raw, "type"), arguments=_args(_get(raw, "arguments")))
            elif event.name == "tool_output":
                if session is not None and str(_get(raw, "call_id") or _get(raw, "id")) not in session.harmless_calls:
                    session.worked = True
                call_id = _get(raw, "call_id") or _get(raw, "id")
                failure = session.bc.failed_calls.get(str(call_id)) if session is not None else None
                if failure:
                    ctx.emit("tool_result", agent=agent_name, call_id=call_id, ok=False, error=failure,
                             output=_clip(item.output))
                else:
                    ctx.emit("tool_result", agent=agent_name, call_id=call_id, ok=True, output=_clip(item.output))
            elif event.name == "handoff_occured":
                ctx.emit("handoff", from_agent=item.source_agent.name, to_agent=item.target_agent.name)
                agent_name = item.target_agent.name


def _usage(result: Any) -> dict[str, int]:
    usage = result.context_wrapper.usage
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens, "requests": usage.requests}


def approval_request(item: ToolApprovalItem) -> dict[str, Any]:
    raw = item.raw_item
    arguments = _args(_get(raw, "arguments"))
    request = {
        "id": _get(raw, "call_id") or _get(raw, "id"),
        "tool": item.tool_name or _get(raw, "name"),
        "arguments": arguments,
        "agent": item.agent.name if getattr(item, "agent", None) else None,
    }
    if isinstance(arguments, dict) and isinstance(arguments.get("reason"), str):
        request["reason"] = arguments["reason"]
    return request


def finish(ctx: NodeContext, result: Any, agent: Agent) -> dict[str, Any]:
    """The node's output, or WaitingForApproval when a tool call needs a person first."""
    usage = _usage(result)  # usage events were emitted per model call while the run streamed
    if result.interruptions:
        requests = [approval_request(i) for i in result.interruptions]
        state = {"kind": STATE_KIND, "agent": agent.name, "run_state": result.to_state().to_json(),
                 "requests": requests}
        raise WaitingForApproval(requests, state=state,
                                 message=f"{ctx.node.name}: {len(requests)} tool call(s) wait for approval")
    output = result.final_output
    if hasattr(output, "model_dump"):
        output = output.model_dump(mode="json")
    return {
        "final_output": output,
        "history": result.to_input_list(),
        "last_response_id": result.last_response_id,
        "last_agent": result.last_agent.name,
        "usage": usage,
    }


# --- resuming --------------------------------------------------------------------------------------


def decisions_from(responses: Any, where: str) -> dict[str, dict[str, Any]]:
    """Approval responses in any of the shapes people write them: a list of {id | call_id |
    functionId | approvalRequest: {...}, approved, message}, or an object {id: true/false}."""
    if responses is None or responses == "":
        return {}
    if isinstance(responses, str):
        try:
            responses = json.loads(responses)
        except json.JSONDecodeError:
            raise InputError(f"{where}: 'Approval Responses' is not valid JSON") from None
    if isinstance(responses, dict) and not any(k in responses for k in ("id", "call_id", "functionId", "approved")):
        return {str(k): {"approved": bool(v)} for k, v in responses.items()}
    if isinstance(responses, dict):
        responses = [responses]
    if not isinstance(responses, list):
        raise InputError(f"{where}: 'Approval Responses' must be a list of {{id, approved}} objects")
    out: dict[str, dict[str, Any]] = {}
    for entry in responses:
        if not isinstance(entry, dict):
            raise InputError(f"{where}: each approval response must be an object with an id and 'approved'")
        inner = entry.get("approvalRequest") if isinstance(entry.get("approvalRequest"), dict) else {}
        ident = entry.get("id") or entry.get("call_id") or entry.get("functionId") or inner.get("id") \
            or inner.get("functionId") or inner.get("call_id")
        approved = entry.get("approved", inner.get("approved"))
        if not ident or approved is None:
            raise InputError(f"{where}: approval response {entry!r} needs an id and 'approved'")
        out[str(ident)] = {"approved": bool(approved), "message": entry.get("message")}
    return out


async def resume_session(ctx: NodeContext, session: AgentSession, saved: Any,
                         decisions: dict[str, dict[str, Any]], max_turns: int) -> dict[str, Any]:
    where = ctx.node.name
    if isinstance(saved, str):
        try:
            saved = json.loads(saved)
        except json.JSONDecodeError:
            raise InputError(f"{where}: 'Run State' is not valid JSON") from None
    if not isinstance(saved, dict):
        raise InputError(f"{where}: 'Run State' must be the state a waiting agent run kept")
    raw_state = saved.get("run_state") if saved.get("kind") == STATE_KIND else saved
    try:
        state = await RunState.from_json(session.agent, raw_state)
    except Exception as exc:  # a state from another agent setup or a damaged file
        raise NodeError(f"{where}: the saved run state does not fit this agent configuration: {exc}",
                        retryable=False) from exc
    # The node's Max Turns counts from here: the SDK would otherwise keep the limit saved with
    # the state, and the "raise 'Max Turns'" advice could not take effect.
    state._max_turns = int(getattr(state, "_current_turn", 0) or 0) + max_turns
    pending = state.get_interruptions()
    known = {str(approval_request(item)["id"]) for item in pending}
    session.harmless_calls.update(str(approval_request(item)["id"]) for item in pending
                                  if approval_request(item)["tool"] in session.bc.approval_tools)
    unknown = sorted(set(decisions) - known)
    if unknown:
        raise InputError(f"{where}: no pending approval request {', '.join(unknown)} "
                         f"(pending: {', '.join(sorted(known)) or 'none'})")
    for item in pending:
        request = approval_request(item)
        decision = decisions.get(str(request["id"]))
        if decision is None:
            continue
        ctx.emit("approval", id=request["id"], tool=request["tool"], agent=request.get("agent"),
                 approved=bool(decision["approved"]), message=decision.get("message") or None)
        if decision["approved"]:
            state.approve(item)
        else:
            state.reject(item, rejection_message=decision.get("message") or None)
    result = await session.run(state, max_turns=max_turns)
    return finish(ctx, result, session.agent)


# NodeError details flag: the resume failed before anything happened (no model answered, no tool
# ran), so the run may stay waiting with its approvals and be resumed again (`studio resume`).
UNTOUCHED = "resume_untouched"


async def resume_keeping_state(ctx: NodeContext, main: dict[str, Any], handoffs: list[dict[str, Any]],
                               state: Any, decisions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    session: AgentSession | None = None
    try:
        async with AgentSession(ctx, main, handoffs) as session:
            return await resume_session(ctx, session, state, decisions, _max_turns(ctx))
    except NodeError as exc:
        if session is None or not session.worked:
            exc.details = {**(exc.details or {}), UNTOUCHED: True}
        raise


def _resume_request(ctx: NodeContext) -> dict[str, Any] | None:
    table = ctx.services.get(RESUME_SERVICE) or {}
    return table.get(ctx.node.id)


# --- handlers --------------------------------------------------------------------------------------


@register("agent.run")
async def run_agent(ctx: NodeContext) -> dict[str, Any]:
    main = agent_config(ctx)
    handoffs = agent_configs(ctx, "handoff_agents")
    resume = _resume_request(ctx)
    if resume is not None:
        return await resume_keeping_state(ctx, main, handoffs, resume["state"], resume["decisions"])
    async with AgentSession(ctx, main, handoffs) as session:
        run_input = user_items(ctx)
        result = await session.run(run_input, max_turns=_max_turns(ctx),
                                   previous_response_id=ctx.inputs.get("previous_response_id") or None)
        return finish(ctx, result, session.agent)


@register("agent.resume_run")
async def resume_run(ctx: NodeContext) -> dict[str, Any]:
    main = agent_config(ctx)
    handoffs = agent_configs(ctx, "handoff_agents")
    resume = _resume_request(ctx)
    if resume is not None:  # this node itself paused again and is being continued
        state, decisions = resume["state"], resume["decisions"]
    else:
        state = required(ctx, "run_state")
        decisions = decisions_from(ctx.inputs.get("approval_responses"), ctx.node.name)
    return await resume_keeping_state(ctx, main, handoffs, state, decisions)


CLASSIFY_INSTRUCTIONS = (
    "You route the input to exactly one branch. Read the input and pick the branch whose "
    "description fits it best. Answer with the branch name and a short reason.\n\nBranches:\n{branches}"
)


@register("agent.classify_and_branch")
async def classify_and_branch(ctx: NodeContext) -> Routed:
    where = ctx.node.name
    try:
        branches = key_values(ctx.inputs.get("branches"))
    except (ValueError, json.JSONDecodeError):
        raise InputError(f"{where}: 'Branch Definitions' must be branch names with descriptions") from None
    branches = {str(k).strip(): str(v or "") for k, v in branches.items() if str(k).strip()}
    if not branches:
        raise InputError(f"{where}: 'Branch Definitions' needs at least one branch")
    text = required(ctx, "input_text")
    listing = "\n".join(f"- {name}: {desc}" for name, desc in branches.items())
    instructions = CLASSIFY_INSTRUCTIONS.format(branches=listing)
    if ctx.inputs.get("instructions"):
        instructions += "\n\n" + str(ctx.inputs["instructions"])
    schema = {
        "type": "object",
        "properties": {"branch": {"type": "string", "enum": list(branches)},
                       "reason": {"type": "string"}},
        "required": ["branch", "reason"],
        "additionalProperties": False,
    }
    main = {"type": "agent", "name": "Classifier", "model": ctx.inputs.get("model") or None,
            "instructions": instructions, "tools": _configs(ctx, "tools", "tool"),
            "mcp_servers": _configs(ctx, "mcp_servers", "mcp_server"),
            "output_schema": schema, "output_schema_name": "classification", "output_schema_strict": True}
    content: list[dict[str, Any]] = [{"type": "input_text", "text": text if isinstance(text, str) else json.dumps(text)}]
    content.extend({"type": "input_file", "file_id": f} for f in string_list(ctx.inputs.get("file_ids")))
    async with AgentSession(ctx, main, []) as session:
        result = await session.run([{"role": "user", "content": content}], max_turns=10)
        output = finish(ctx, result, session.agent)
    choice = output["final_output"]
    branch = choice.get("branch") if isinstance(choice, dict) else None
    if branch not in branches:
        raise NodeError(f"{where}: the model chose {branch!r}, which is not a branch "
                        f"(branches: {', '.join(branches)})", retryable=True)
    ctx.emit("progress", message=f"routed to {branch}", branch=branch)
    return Routed(port=branch, value={"branch": branch, "reason": choice.get("reason"), "input_text": text,
                                      "usage": output["usage"]})


__all__ = ["JsonSchemaOutput", "build_agent", "decisions_from", "finish", "RESUME_SERVICE"]
