"""Assistants API (v2, deprecated by OpenAI in favour of Responses but still served): assistants,
threads, messages, run steps, Message an Assistant (thread + message + run, polled to the end),
and the fine-tuning job listing that sits next to them in the Composio toolkit.

Requests follow OpenAI's published schema exactly (unknown properties are rejected there); the
SDK's `client.beta.*` resources add the `OpenAI-Beta: assistants=v2` header."""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

from studio.engine.context import NodeContext, NodeError

from ._common import (
    InputError,
    api_call,
    bool_input,
    connect,
    handles,
    json_value,
    present,
    report_usage,
    required,
    string_list,
    timeout_kw,
    to_plain,
)

# The SDK marks every Assistants call deprecated; the node's palette entry says so already.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=__name__)

RUN_DONE = {"completed", "failed", "cancelled", "expired", "incomplete", "requires_action"}
_METADATA_LIMIT = 16


def _float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _metadata(ctx: NodeContext) -> dict[str, str] | None:
    metadata = json_value(ctx, "metadata", expect=dict) if "metadata" in ctx.inputs else None
    if not metadata:
        return None
    if len(metadata) > _METADATA_LIMIT:
        raise InputError(f"{ctx.node.name}: 'Metadata' holds at most {_METADATA_LIMIT} keys")
    return {str(k): str(v) for k, v in metadata.items()}


def _tools_and_resources(ctx: NodeContext, *, creating: bool, existing_tools: list[dict] | None = None):
    """The `tools` list and `tool_resources` object from the node's switches (code interpreter,
    file search), extra tool definitions and file ids."""
    tools: list[dict[str, Any]] = []
    if existing_tools is not None:
        # Only switches the user set on the node edit the current list; a switch left at its
        # catalog default (False) must not strip a tool the assistant already has.
        chosen = set(ctx.node.values)
        replaced = {"code_interpreter"} & chosen
        if {"file_search", "knowledge_retrieval"} & chosen:
            replaced.add("file_search")
        tools = [t for t in existing_tools if t.get("type") not in replaced]
        if bool_input(ctx, "remove_custom_tools"):
            tools = [t for t in tools if t.get("type") != "function"]
    extra = json_value(ctx, "tools", expect=list) if "tools" in ctx.inputs else None
    for tool in extra or []:
        if not isinstance(tool, dict) or "type" not in tool:
            raise InputError(f"{ctx.node.name}: each of 'Tools' must be an object with a 'type'")
        tools.append(tool)
    code_interpreter = bool_input(ctx, "code_interpreter")
    file_search = bool_input(ctx, "file_search") or bool_input(ctx, "knowledge_retrieval")
    if code_interpreter and not any(t["type"] == "code_interpreter" for t in tools):
        tools.append({"type": "code_interpreter"})
    if file_search and not any(t["type"] == "file_search" for t in tools):
        tools.append({"type": "file_search"})
    file_ids = string_list(ctx.inputs.get("file_ids"))
    vector_store_ids = string_list(ctx.inputs.get("vector_store_ids"))
    resources: dict[str, Any] = {}
    if file_ids and code_interpreter:
        if len(file_ids) > 20:
            raise InputError(f"{ctx.node.name}: the code interpreter takes at most 20 files")
        resources["code_interpreter"] = {"file_ids": file_ids}
    if file_search:
        if vector_store_ids:
            resources["file_search"] = {"vector_store_ids": vector_store_ids[:1]}
        elif file_ids and creating:  # the API builds a vector store from the files
            resources["file_search"] = {"vector_stores": [{"file_ids": file_ids}]}
    if file_ids and not (code_interpreter or file_search):
        raise InputError(
            f"{ctx.node.name}: 'File IDs' need the code interpreter or file search switched on"
        )
    return tools, resources


def _assistant_body(ctx: NodeContext, *, creating: bool, existing_tools: list[dict] | None = None) -> dict[str, Any]:
    tools, resources = _tools_and_resources(ctx, creating=creating, existing_tools=existing_tools)
    response_format = ctx.inputs.get("response_format")
    body = present(
        model=ctx.inputs.get("model"),
        name=ctx.inputs.get("name"),
        description=ctx.inputs.get("description"),
        instructions=ctx.inputs.get("instructions"),
        reasoning_effort=ctx.inputs.get("reasoning_effort"),
        tool_resources=resources,
        metadata=_metadata(ctx),
        temperature=_float(ctx.inputs.get("temperature")),
        top_p=_float(ctx.inputs.get("top_p")),
    )
    if tools or existing_tools is not None:
        body["tools"] = tools
    if response_format:
        body["response_format"] = (
            {"type": "json_object"} if response_format == "json_object" else
            "auto" if response_format == "auto" else json_value(ctx, "response_format")
        )
    if body.get("temperature") is not None and not 0 <= body["temperature"] <= 2:
        raise InputError(f"{ctx.node.name}: 'Temperature' must be between 0 and 2")
    return body


async def _all_assistants(ctx: NodeContext, client: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async for item in client.sdk.beta.assistants.list(limit=100, **timeout_kw(ctx)):
        found.append(to_plain(item))
    return found


@handles("assistant.create")
async def create_assistant(ctx: NodeContext) -> dict[str, Any]:
    required(ctx, "model")
    body = _assistant_body(ctx, creating=True)
    client = await connect(ctx)
    if bool_input(ctx, "fail_if_exists") and body.get("name"):
        existing = await api_call(ctx, _all_assistants(ctx, client))
        if any(a.get("name") == body["name"] for a in existing):
            raise InputError(f"{ctx.node.name}: an assistant named {body['name']!r} already exists")
    return to_plain(await api_call(ctx, client.sdk.beta.assistants.create(**body, **timeout_kw(ctx))))


@handles("assistant.list")
async def list_assistants(ctx: NodeContext) -> Any:
    params = present(
        limit=_int(ctx.inputs.get("limit")),
        order=ctx.inputs.get("order"),
        after=ctx.inputs.get("after"),
        before=ctx.inputs.get("before"),
    )
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.beta.assistants.list(**params, **timeout_kw(ctx)))
    assistants = [to_plain(a) for a in page.data]
    if bool_input(ctx, "simplify", default=True):
        return [{"id": a.get("id"), "name": a.get("name"), "model": a.get("model")} for a in assistants]
    return {"object": "list", "data": assistants, "has_more": bool(getattr(page, "has_more", False))}


@handles("assistant.retrieve")
async def retrieve_assistant(ctx: NodeContext) -> dict[str, Any]:
    assistant_id = str(required(ctx, "assistant_id"))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.beta.assistants.retrieve(assistant_id, **timeout_kw(ctx))))


@handles("assistant.update")
async def update_assistant(ctx: NodeContext) -> dict[str, Any]:
    assistant_id = str(required(ctx, "assistant_id"))
    client = await connect(ctx)
    existing_tools = None
    touches_tools = any(
        ctx.node.values.get(k) not in (None, "", [])
        for k in ("code_interpreter", "file_search", "knowledge_retrieval", "remove_custom_tools", "tools")
    )
    if touches_tools:  # tool switches edit the current list, so read it first
        current = to_plain(await api_call(ctx, client.sdk.beta.assistants.retrieve(assistant_id, **timeout_kw(ctx))))
        existing_tools = list(current.get("tools") or [])
    body = _assistant_body(ctx, creating=False, existing_tools=existing_tools)
    return to_plain(
        await api_call(ctx, client.sdk.beta.assistants.update(assistant_id, **body, **timeout_kw(ctx)))
    )


@handles("assistant.delete")
async def delete_assistant(ctx: NodeContext) -> dict[str, Any]:
    assistant_id = str(required(ctx, "assistant_id"))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.beta.assistants.delete(assistant_id, **timeout_kw(ctx))))


# --- Message an Assistant ---------------------------------------------------------------------


def _prompt(ctx: NodeContext) -> str:
    """The message text; n8n's "take from previous node" reads the upstream `chatInput`."""
    prompt = ctx.inputs.get("prompt") or ctx.inputs.get("text")
    if not prompt and isinstance(ctx.upstream, dict):
        prompt = ctx.upstream.get("chatInput") or ctx.upstream.get("message")
    if not prompt:
        raise InputError(f"{ctx.node.name}: 'Prompt' is required (or an upstream chatInput)")
    return str(prompt)


def message_text(message: dict[str, Any]) -> str:
    return "".join(
        (part.get("text") or {}).get("value", "")
        for part in message.get("content") or []
        if part.get("type") == "text"
    )


@handles("assistant.message")
async def message_assistant(ctx: NodeContext) -> dict[str, Any]:
    assistant_id = str(required(ctx, "assistant_id"))
    prompt = _prompt(ctx)
    client = await connect(ctx)
    beta = client.sdk.beta
    thread_id = ctx.inputs.get("thread_id")
    if thread_id:
        await api_call(
            ctx, beta.threads.messages.create(str(thread_id), role="user", content=prompt, **timeout_kw(ctx))
        )
    else:
        thread = await api_call(
            ctx, beta.threads.create(messages=[{"role": "user", "content": prompt}], **timeout_kw(ctx))
        )
        thread_id = thread.id
    run_params: dict[str, Any] = {}
    if not bool_input(ctx, "preserve_original_tools", default=True):
        run_params["tools"] = []
    instructions = ctx.inputs.get("additional_instructions")
    if instructions:
        run_params["additional_instructions"] = str(instructions)
    run = await api_call(
        ctx, beta.threads.runs.create(str(thread_id), assistant_id=assistant_id, **run_params, **timeout_kw(ctx))
    )
    ctx.emit("progress", message=f"run {run.id} {run.status}")
    run = await _poll_run(ctx, client, str(thread_id), run)
    if run.status != "completed":
        reason = ""
        if run.last_error is not None:
            reason = f": {run.last_error.message}"
        elif run.status == "requires_action":
            reason = ": the assistant asked for function results, which this node cannot provide"
        raise NodeError(
            f"{ctx.node.name}: the assistant's run ended {run.status}{reason}",
            details={"thread_id": thread_id, "run_id": run.id},
        )
    page = await api_call(
        ctx,
        beta.threads.messages.list(str(thread_id), run_id=run.id, order="asc", limit=100, **timeout_kw(ctx)),
    )
    replies = [to_plain(m) for m in page.data if m.role == "assistant"]
    output: dict[str, Any] = {
        "output": "\n\n".join(message_text(m) for m in replies),
        "thread_id": thread_id,
        "run_id": run.id,
        "assistant_id": assistant_id,
        "status": run.status,
        "messages": replies,
    }
    usage = report_usage(ctx, run.usage)
    if usage:
        output["usage"] = usage
    return output


async def _poll_run(ctx: NodeContext, client: Any, thread_id: str, run: Any) -> Any:
    """Ask for the run's state until it ends; a cancelled node cancels the run on the server."""
    interval = max(0.05, float(ctx.inputs.get("poll_interval_ms") or 500) / 1000)
    deadline = time.monotonic() + float(ctx.inputs.get("max_wait_s") or 600)
    try:
        while run.status not in RUN_DONE:
            if time.monotonic() > deadline:
                raise NodeError(f"{ctx.node.name}: the assistant's run did not finish in time (still {run.status})")
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, 2.0)
            previous = run.status
            run = await api_call(
                ctx, client.sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id, **timeout_kw(ctx))
            )
            if run.status != previous:
                ctx.emit("progress", message=f"run {run.id} {run.status}")
    except (asyncio.CancelledError, NodeError) as exc:
        if isinstance(exc, asyncio.CancelledError) or run.status not in RUN_DONE:
            await _cancel_quietly(client, thread_id, run.id)
        raise
    return run


async def _cancel_quietly(client: Any, thread_id: str, run_id: str) -> None:
    try:
        await asyncio.wait_for(
            asyncio.shield(client.sdk.beta.threads.runs.cancel(run_id, thread_id=thread_id)), timeout=5
        )
    except BaseException:  # best effort: the node already failed or was cancelled
        pass


# --- threads, messages, run steps -------------------------------------------------------------


def _thread_resources(ctx: NodeContext) -> dict[str, Any] | None:
    resources = json_value(ctx, "tool_resources", expect=dict) if "tool_resources" in ctx.inputs else None
    return resources or None


@handles("thread.create")
async def create_thread(ctx: NodeContext) -> dict[str, Any]:
    messages = json_value(ctx, "messages", expect=list) if "messages" in ctx.inputs else None
    for index, message in enumerate(messages or []):
        if not isinstance(message, dict) or message.get("role") not in {"user", "assistant"} or "content" not in message:
            raise InputError(
                f"{ctx.node.name}: message {index + 1} needs a role (user or assistant) and content"
            )
    body = present(messages=messages, metadata=_metadata(ctx), tool_resources=_thread_resources(ctx))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.beta.threads.create(**body, **timeout_kw(ctx))))


@handles("thread.retrieve")
async def retrieve_thread(ctx: NodeContext) -> dict[str, Any]:
    thread_id = str(required(ctx, "thread_id"))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.beta.threads.retrieve(thread_id, **timeout_kw(ctx))))


@handles("thread.modify")
async def modify_thread(ctx: NodeContext) -> dict[str, Any]:
    thread_id = str(required(ctx, "thread_id"))
    body = present(metadata=_metadata(ctx), tool_resources=_thread_resources(ctx))
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.beta.threads.update(thread_id, **body, **timeout_kw(ctx))))


@handles("message.create")
async def create_message(ctx: NodeContext) -> dict[str, Any]:
    thread_id = str(required(ctx, "thread_id"))
    role = str(ctx.inputs.get("role") or "user")
    if role not in {"user", "assistant"}:
        raise InputError(f"{ctx.node.name}: 'Role' must be user or assistant, got {role!r}")
    content = required(ctx, "content")
    if isinstance(content, str) and content.strip().startswith("["):
        parsed = json_value(ctx, "content")
        content = parsed if isinstance(parsed, list) else content
    attachments = json_value(ctx, "attachments", expect=list) if "attachments" in ctx.inputs else None
    body = present(role=role, content=content, attachments=attachments, metadata=_metadata(ctx))
    client = await connect(ctx)
    return to_plain(
        await api_call(ctx, client.sdk.beta.threads.messages.create(thread_id, **body, **timeout_kw(ctx)))
    )


@handles("run_step.list")
async def list_run_steps(ctx: NodeContext) -> dict[str, Any]:
    thread_id = str(required(ctx, "thread_id"))
    run_id = str(required(ctx, "run_id"))
    limit = _int(ctx.inputs.get("limit"))
    if limit is not None and not 1 <= limit <= 100:
        raise InputError(f"{ctx.node.name}: 'Limit' must be between 1 and 100")
    params = present(
        limit=limit,
        order=ctx.inputs.get("order"),
        after=ctx.inputs.get("after"),
        before=ctx.inputs.get("before"),
        include=string_list(ctx.inputs.get("include")),
    )
    client = await connect(ctx)
    page = await api_call(
        ctx, client.sdk.beta.threads.runs.steps.list(run_id, thread_id=thread_id, **params, **timeout_kw(ctx))
    )
    return _page(page)


@handles("fine_tuning.list_jobs")
async def list_fine_tuning_jobs(ctx: NodeContext) -> dict[str, Any]:
    params = present(
        limit=_int(ctx.inputs.get("limit")),
        after=ctx.inputs.get("after"),
        metadata=_metadata(ctx),
    )
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.fine_tuning.jobs.list(**params, **timeout_kw(ctx)))
    return _page(page)


def _page(page: Any) -> dict[str, Any]:
    """A list page as the API sent it: data, first/last ids and whether more exist."""
    data = [to_plain(item) for item in page.data]
    output: dict[str, Any] = {"object": "list", "data": data, "has_more": bool(getattr(page, "has_more", False))}
    for key in ("first_id", "last_id"):
        value = getattr(page, key, None)
        if value is not None:
            output[key] = value
    return output
