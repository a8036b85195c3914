"""Batch: run a list of items (a node's list output, a Loop's items) as one OpenAI batch. The
JSONL of requests is written as a run file for the user, uploaded, and the batch is polled with
progress; its results are downloaded and mapped back to the items in their order. Retrieve, Get
Results and Cancel work on a batch by id."""

from __future__ import annotations

import json
from typing import Any

from studio.engine.context import NodeContext, NodeError

from ._common import InputError, api_call, bool_input, connect, handles, json_value, required, timeout_kw, to_plain
from ._polling import poll_until_done
from .responses import output_text

BATCH_DONE = {"completed", "failed", "expired", "cancelled"}
ENDPOINTS = ("/v1/responses", "/v1/chat/completions")
MAX_REQUESTS = 50000


def _items(ctx: NodeContext) -> list[Any]:
    value = json_value(ctx, "items")
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        value = value["items"]
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list) or not value:
        raise InputError(f"{ctx.node.name}: 'Items' must be a non-empty list (one request per item)")
    if len(value) > MAX_REQUESTS:
        raise InputError(f"{ctx.node.name}: a batch holds at most {MAX_REQUESTS} requests, got {len(value)}")
    return value


def request_body(ctx: NodeContext, endpoint: str, item: Any) -> dict[str, Any]:
    """One item as a request body: an item with a `body` is sent as it is; text (or an item's
    `prompt`/`input`/`text`) becomes the user message of the node's model and instructions."""
    if isinstance(item, dict) and isinstance(item.get("body"), dict):
        return item["body"]
    text = item.get("prompt") or item.get("input") or item.get("text") if isinstance(item, dict) else item
    if text is None:
        text = json.dumps(item)
    model = str(ctx.inputs.get("model") or "gpt-4.1-mini")
    instructions = ctx.inputs.get("instructions")
    if endpoint == "/v1/chat/completions":
        messages = ([{"role": "system", "content": str(instructions)}] if instructions else [])
        return {"model": model, "messages": messages + [{"role": "user", "content": str(text)}]}
    body: dict[str, Any] = {"model": model, "input": str(text)}
    if instructions:
        body["instructions"] = str(instructions)
    return body


def batch_lines(ctx: NodeContext, endpoint: str, items: list[Any]) -> bytes:
    lines = [{"custom_id": f"item-{index}", "method": "POST", "url": endpoint,
              "body": request_body(ctx, endpoint, item)} for index, item in enumerate(items)]
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def _progress(batch: dict[str, Any]) -> str:
    counts = batch.get("request_counts") or {}
    return (f"{batch.get('status')}: {counts.get('completed', 0)}/{counts.get('total', 0)} requests done"
            + (f", {counts['failed']} failed" if counts.get("failed") else ""))


@handles("batch.run")
async def run_batch(ctx: NodeContext) -> dict[str, Any]:
    endpoint = str(ctx.inputs.get("endpoint") or "/v1/responses")
    if endpoint not in ENDPOINTS:
        raise InputError(f"{ctx.node.name}: 'Endpoint' must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}")
    items = _items(ctx)
    data = batch_lines(ctx, endpoint, items)
    artifact = ctx.save_artifact("batch-input.jsonl", data, "application/jsonl").to_json()
    client = await connect(ctx)
    upload = await api_call(ctx, client.sdk.files.create(file=("batch-input.jsonl", data, "application/jsonl"),
                                                         purpose="batch", **timeout_kw(ctx)))
    batch = to_plain(await api_call(ctx, client.sdk.batches.create(
        input_file_id=upload.id, endpoint=endpoint, completion_window="24h", **timeout_kw(ctx))))
    output: dict[str, Any] = {"batch": batch, "input_file": artifact}
    if not bool_input(ctx, "wait", default=True):
        return output
    batch_id = batch["id"]

    async def fetch() -> dict[str, Any]:
        return to_plain(await api_call(ctx, client.sdk.batches.retrieve(batch_id, **timeout_kw(ctx))))

    async def cancel() -> Any:
        return await client.sdk.batches.cancel(batch_id)

    batch = await poll_until_done(ctx, batch, fetch, BATCH_DONE, what=f"batch {batch_id}", progress=_progress,
                                  cancel=cancel)
    output["batch"] = batch
    if batch.get("status") != "completed":
        raise NodeError(f"{ctx.node.name}: batch {batch_id} ended {batch.get('status')}", details=output)
    output["results"] = await _results(ctx, client, batch, items)
    return output


async def _results(ctx: NodeContext, client: Any, batch: dict[str, Any], items: list[Any] | None) -> list[Any]:
    """The batch's output (and error) files, one result per request in the order of the items."""
    by_id: dict[str, dict[str, Any]] = {}
    for key in ("output_file_id", "error_file_id"):
        if batch.get(key):
            content = await api_call(ctx, client.sdk.files.content(batch[key], **timeout_kw(ctx)))
            for line in content.content.decode("utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    by_id[str(row.get("custom_id"))] = row
    count = len(items) if items is not None else (batch.get("request_counts") or {}).get("total", len(by_id))
    results = []
    for index in range(count):
        row = by_id.get(f"item-{index}") or {}
        response = row.get("response") or {}
        body = response.get("body") or {}
        result: dict[str, Any] = {"custom_id": f"item-{index}", "status_code": response.get("status_code"),
                                  "output_text": _text(body), "response": body, "error": row.get("error")}
        if items is not None:
            result["item"] = items[index]
        results.append(result)
    return results


def _text(body: dict[str, Any]) -> str | None:
    if body.get("object") == "chat.completion":
        choices = body.get("choices") or [{}]
        return (choices[0].get("message") or {}).get("content")
    if body.get("object") == "response":
        return output_text(body)
    return None


@handles("batch.retrieve")
async def retrieve_batch(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.batches.retrieve(str(required(ctx, "batch_id")),
                                                                     **timeout_kw(ctx))))


@handles("batch.results")
async def batch_results(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    batch = to_plain(await api_call(ctx, client.sdk.batches.retrieve(str(required(ctx, "batch_id")),
                                                                      **timeout_kw(ctx))))
    if not batch.get("output_file_id") and not batch.get("error_file_id"):
        raise NodeError(f"{ctx.node.name}: batch {batch['id']} has no results yet (status {batch.get('status')})")
    items = json_value(ctx, "items", expect=list) if ctx.inputs.get("items") not in (None, "", []) else None
    return {"batch": batch, "results": await _results(ctx, client, batch, items)}


@handles("batch.cancel")
async def cancel_batch(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.batches.cancel(str(required(ctx, "batch_id")), **timeout_kw(ctx))))
