"""What the fake model's built-in Responses tools produce: one output item per hosted tool the
request offers (web search, file search over the server's vector stores, code interpreter, image
generation, remote MCP with approval, computer use), shaped as OpenAI documents them."""

from __future__ import annotations

import base64
import json
from typing import Any

from .common import _id
from .payloads import tiny_png

HOSTED_TOOLS = ("web_search", "web_search_preview", "file_search", "code_interpreter", "image_generation", "mcp",
                "computer_use_preview")


def approvals(items: Any) -> dict[str, bool]:
    """The MCP approval answers in a request's input: approval request id -> approved."""
    found: dict[str, bool] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("type") == "mcp_approval_response":
            found[str(item.get("approval_request_id"))] = bool(item.get("approve"))
    return found


def tool_items(server: Any, body: dict[str, Any], question: str) -> list[dict[str, Any]]:
    """The output items of every hosted tool offered (tool_choice "none" offers none)."""
    if body.get("tool_choice") == "none":
        return []
    include = set(body.get("include") or [])
    items: list[dict[str, Any]] = []
    for tool in body.get("tools") or []:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in ("web_search", "web_search_preview"):
            items.append({"id": _id("ws_"), "type": "web_search_call", "status": "completed",
                          "action": {"type": "search", "query": question}})
        elif kind == "file_search":
            items.append(_file_search(server, tool, question, "file_search_call.results" in include))
        elif kind == "code_interpreter":
            code = f"print({question!r})"
            container = tool.get("container")
            container_id = container if isinstance(container, str) else _id("cntr_")
            outputs = [{"type": "logs", "logs": question}] if "code_interpreter_call.outputs" in include else None
            items.append({"id": _id("ci_"), "type": "code_interpreter_call", "status": "completed",
                          "container_id": container_id, "code": code, "outputs": outputs})
        elif kind == "image_generation":
            items.append({"id": _id("ig_"), "type": "image_generation_call", "status": "completed",
                          "result": base64.b64encode(tiny_png()).decode("ascii")})
        elif kind == "mcp":
            items.extend(_mcp(tool, body, question))
        elif kind == "computer_use_preview":
            items.append({"id": _id("cu_"), "type": "computer_call", "call_id": _id("call_"), "status": "completed",
                          "pending_safety_checks": [], "action": {"type": "screenshot"}})
    return items


def _file_search(server: Any, tool: dict[str, Any], question: str, with_results: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"id": _id("fs_"), "type": "file_search_call", "status": "completed",
                            "queries": [question]}
    if with_results:
        hits = server.vector_search(tool.get("vector_store_ids") or [], question,
                                    int(tool.get("max_num_results") or 10))
        item["results"] = [{"file_id": h["file_id"], "filename": h["filename"], "score": h["score"],
                            "text": h["content"][0]["text"], "attributes": h["attributes"]} for h in hits]
    return item


def _mcp(tool: dict[str, Any], body: dict[str, Any], question: str) -> list[dict[str, Any]]:
    """An MCP server's tool list and, unless approval is not needed, an approval request; once the
    input answers that request (approved), the call itself."""
    label = str(tool.get("server_label") or "mcp")
    name = (tool.get("allowed_tools") or ["echo"])[0] if isinstance(tool.get("allowed_tools"), list) else "echo"
    arguments = json.dumps({"text": question})
    listing = {"id": _id("mcpl_"), "type": "mcp_list_tools", "server_label": label,
               "tools": [{"name": name, "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
                          "description": f"Echo text ({label})"}]}
    answered = approvals(body.get("input"))
    call = {"id": _id("mcp_"), "type": "mcp_call", "server_label": label, "name": name, "arguments": arguments,
            "output": question, "error": None, "status": "completed"}
    if tool.get("require_approval") == "never":
        return [listing, call]
    if answered:
        approved = any(answered.values())
        if approved:
            return [{**call, "approval_request_id": next(iter(answered))}]
        return []
    return [listing, {"id": _id("mcpr_"), "type": "mcp_approval_request", "server_label": label, "name": name,
                      "arguments": arguments}]
