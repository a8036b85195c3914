"""Raw Request (Prismatic): any HTTP call under the connection's base URL, with the connector's
key, JSON or multipart bodies, query and headers, retries, and json/text/binary responses
(binary is saved as an artifact). The client does the sending, retrying and debug logging."""

from __future__ import annotations

import json
from typing import Any

from studio.engine.context import NodeContext

from ._common import InputError, api_call, bool_input, connect, handles, key_values, load_file

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
RESPONSE_TYPES = {"json", "text", "binary"}


def _pairs(ctx: NodeContext, key: str) -> dict[str, Any]:
    try:
        return key_values(ctx.inputs.get(key))
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"{ctx.node.name}: '{_label(ctx, key)}' must be key/value pairs") from exc


def _label(ctx: NodeContext, key: str) -> str:
    try:
        return ctx.action.input(key).label
    except (KeyError, AttributeError):
        return key


def request_path(ctx: NodeContext) -> str:
    """The path only: a full URL or a `..` escape would send the key elsewhere, so both are refused."""
    path = str(ctx.inputs.get("url") or "/v1/models").strip()
    if "://" in path or path.startswith("//"):
        raise InputError(
            f"{ctx.node.name}: 'URL' takes the path only (for example /v1/models); "
            "the base URL comes from the connection"
        )
    path = path if path.startswith("/") else "/" + path
    segments = path.split("?", 1)[0].split("/")
    if any(segment in {"..", "."} or segment.lower() in {"%2e%2e", "%2e", ".%2e", "%2e."} for segment in segments):
        raise InputError(f"{ctx.node.name}: 'URL' must stay under the connection's base URL (no '..' segments)")
    return path


def request_body(ctx: NodeContext) -> dict[str, Any]:
    """JSON data, or multipart form fields plus files (each file named by File Data File Names)."""
    body: dict[str, Any] = {}
    form = _pairs(ctx, "form_data")
    file_data = _pairs(ctx, "file_data")
    names = _pairs(ctx, "file_data_file_names")
    unknown = sorted(set(names) - set(file_data))
    if unknown:
        raise InputError(
            f"{ctx.node.name}: 'File Data File Names' has keys with no file data: {', '.join(unknown)}"
        )
    data = ctx.inputs.get("data")
    if (form or file_data) and data not in (None, "", {}, []):
        raise InputError(f"{ctx.node.name}: use either 'Data' or 'Form Data'/'File Data', not both")
    if form or file_data:
        body["form"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in form.items()}
        files = {}
        for field, value in file_data.items():
            name = names.get(field)
            if isinstance(value, str) and not _names_a_file(value):
                # Text is the file's content, never a path: a value that happens to name a file on
                # this machine must not upload it. Files come as {"path": ...} or upstream artifacts.
                files[field] = (name or field, value.encode("utf-8"), "application/octet-stream")
            else:
                loaded = load_file(ctx, "file_data", value=value, name=name)
                files[field] = loaded.as_upload()
        body["files"] = files
    elif data not in (None, ""):
        if isinstance(data, str):
            try:
                body["json"] = json.loads(data)
            except json.JSONDecodeError:
                body["content"] = data
        else:
            body["json"] = data
    return body


def _names_a_file(text: str) -> bool:
    """True for JSON text of a file reference ({"path": ...}, {"data": base64}, an artifact)."""
    if not text.lstrip().startswith("{"):
        return False
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and bool({"path", "data", "artifact"} & value.keys())


def _int(ctx: NodeContext, key: str, default: int) -> int:
    value = ctx.inputs.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{ctx.node.name}: '{_label(ctx, key)}' must be a whole number") from None
    if number < 0:
        raise InputError(f"{ctx.node.name}: '{_label(ctx, key)}' must not be negative")
    return number


@handles("raw.request")
async def raw_request(ctx: NodeContext) -> Any:
    method = str(ctx.inputs.get("method") or "GET").upper()
    if method not in METHODS:
        raise InputError(f"{ctx.node.name}: 'Method' must be one of {', '.join(sorted(METHODS))}")
    response_type = str(ctx.inputs.get("response_type") or "json").lower()
    if response_type not in RESPONSE_TYPES:
        raise InputError(f"{ctx.node.name}: 'Response Type' must be json, text or binary")
    path = request_path(ctx)
    body = request_body(ctx)
    timeout_s = ctx.timeout_s
    timeout_ms = ctx.inputs.get("timeout")
    if timeout_ms not in (None, ""):
        timeout_s = int(timeout_ms) / 1000
    client = await connect(ctx)
    debug = bool_input(ctx, "debug_request")
    result = await api_call(
        ctx,
        client.raw_request(
            method,
            path,
            params=_pairs(ctx, "query_params") or None,
            headers={k: str(v) for k, v in _pairs(ctx, "headers").items()} or None,
            response_type=response_type,
            max_retries=_int(ctx, "max_retry_count", 0),
            retry_delay_ms=_int(ctx, "retry_delay_ms", 0),
            retry_on_all_errors=bool_input(ctx, "retry_on_all_errors"),
            exponential_backoff=bool_input(ctx, "use_exponential_backoff"),
            debug=debug,
            timeout_s=timeout_s,
            **body,
        ),
    )
    return shape_result(ctx, result, response_type)


def shape_result(ctx: NodeContext, result: Any, response_type: str) -> Any:
    """json and text come back as the value; binary bytes become an artifact."""
    if response_type == "binary":
        data = getattr(result, "content", result)
        media_type = "application/octet-stream"
        headers = getattr(result, "headers", None)
        if headers is not None:
            media_type = headers.get("content-type", media_type).split(";")[0].strip()
        name = ctx.inputs.get("file_name") or "response.bin"
        artifact = ctx.save_artifact(str(name), bytes(data), media_type).to_json()
        return {"file": artifact}
    return getattr(result, "body", result)  # the parsed JSON or text, not the response object
