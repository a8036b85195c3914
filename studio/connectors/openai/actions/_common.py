"""Helpers every action handler shares: registration, calling the SDK with the node's timeout and
error mapping, turning SDK objects into plain JSON, and reading file inputs (a local path or an
upstream artifact) so that no handler re-implements them."""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

from studio.engine.context import NodeContext, NodeError
from studio.engine.handlers import register
from studio.engine.results import PLAIN_TYPES

Handler = Callable[[NodeContext], Awaitable[Any]]
T = TypeVar("T")

class InputError(NodeError):
    """The node's inputs are wrong (missing, malformed, out of range): trying again cannot help,
    so the executor does not spend the node's retries on it."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details, retryable=False)


# Every handler this package defines, by action id (what tests and `studio catalog` check).
ACTION_HANDLERS: dict[str, Handler] = {}


def handles(action_id: str) -> Callable[[Handler], Handler]:
    """Register `fn` as the handler of `action_id` in the engine's default registry."""

    def decorate(fn: Handler) -> Handler:
        if action_id in ACTION_HANDLERS and ACTION_HANDLERS[action_id] is not fn:
            raise ValueError(f"two handlers for action {action_id!r}")
        ACTION_HANDLERS[action_id] = fn
        register(action_id, fn)
        return fn

    return decorate


# --- calling the API ---------------------------------------------------------------------------


async def connect(ctx: NodeContext) -> Any:
    """The node's OpenAI client (its `connection` input names it; empty means the default)."""
    return await ctx.connect(ctx.inputs.get("connection") or None)


def timeout_kw(ctx: NodeContext) -> dict[str, Any]:
    """Per-call SDK timeout from the node's Timeout (ms); absent means the client's default."""
    return {"timeout": ctx.timeout_s} if ctx.timeout_s else {}


async def api_call(ctx: NodeContext, call: Awaitable[T]) -> T:
    """Await an SDK call, turning any API or network failure into a NodeError naming the node."""
    try:
        return await call
    except (NodeError, asyncio.CancelledError):
        raise
    except Exception as exc:  # every SDK/httpx failure is mapped to a user-facing message
        raise mapped_error(ctx, exc) from exc


def mapped_error(ctx: NodeContext, exc: BaseException) -> BaseException:
    from studio.connectors.openai.errors import map_openai_error

    mapped = map_openai_error(exc, ctx.node.name)
    return mapped if isinstance(mapped, BaseException) else NodeError(str(mapped))


def to_plain(obj: Any) -> Any:
    """SDK objects as the JSON the API sent (unset fields left out); plain values unchanged."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    # Most values are plain JSON (the direct path answers with it): checked first, and plain
    # members taken without a call each.
    if type(obj) is dict:
        return {k: v if type(v) in PLAIN_TYPES else to_plain(v) for k, v in obj.items()}
    if type(obj) is list:
        return [v if type(v) in PLAIN_TYPES else to_plain(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return obj.to_dict(mode="json")
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_unset=True)
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def present(**values: Any) -> dict[str, Any]:
    """Only the parameters the user actually set (None, "" and empty collections are left out),
    so the API applies its own defaults."""
    return {k: v for k, v in values.items() if v is not None and v != "" and v != [] and v != {}}


# --- reading inputs ----------------------------------------------------------------------------


def required(ctx: NodeContext, key: str, label: str | None = None) -> Any:
    value = ctx.inputs.get(key)
    if value is None or value == "" or value == []:
        name = label or _label(ctx, key)
        raise InputError(f"{ctx.node.name}: '{name}' is required")
    return value


def _label(ctx: NodeContext, key: str) -> str:
    try:
        return ctx.action.input(key).label
    except (KeyError, AttributeError):
        return key


def json_value(ctx: NodeContext, key: str, *, expect: type | tuple[type, ...] | None = None) -> Any:
    """An input that holds JSON: already-parsed values pass through, strings are parsed."""
    value = ctx.inputs.get(key)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{ctx.node.name}: '{_label(ctx, key)}' is not valid JSON ({exc.msg})") from exc
    if expect is not None and value is not None and not isinstance(value, expect):
        names = " or ".join(t.__name__ for t in (expect if isinstance(expect, tuple) else (expect,)))
        kind = {"dict": "a JSON object", "list": "a JSON array"}.get(names, names)
        raise InputError(f"{ctx.node.name}: '{_label(ctx, key)}' must be {kind}")
    return value


def string_list(value: Any) -> list[str]:
    """A list input given as a list, a comma/newline separated string, or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return [str(v).strip() for v in parsed if str(v).strip()]
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


def file_items(value: Any) -> list[Any]:
    """A files input (Images) as its items: a list as it is, text one per line or comma (or a
    JSON list), an upstream output holding `images` or `artifacts` as those, any other object as
    one item (an artifact). Each item is then a URL or what `load_file` reads."""
    if isinstance(value, dict):
        nested = value.get("images") or value.get("artifacts")
        return list(nested) if isinstance(nested, list) else [value]
    if isinstance(value, list):
        return value
    return string_list(value) if isinstance(value, str) else []


def key_values(value: Any) -> dict[str, Any]:
    """A key/value input: a JSON object, a list of {key, value} pairs, or a JSON string of either."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        pairs: dict[str, Any] = {}
        for item in value:
            if isinstance(item, dict) and "key" in item:
                pairs[str(item["key"])] = item.get("value")
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                pairs[str(item[0])] = item[1]
        return pairs
    raise ValueError("expected an object of key/value pairs")


def bool_input(ctx: NodeContext, key: str, default: bool = False) -> bool:
    value = ctx.inputs.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


@dataclass(frozen=True)
class FileData:
    """The bytes of a file input, with the name and media type the API should see."""

    name: str
    data: bytes
    media_type: str

    def as_upload(self) -> tuple[str, bytes, str]:
        return (self.name, self.data, self.media_type)

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def load_file(ctx: NodeContext, key: str, *, value: Any = None, name: str | None = None) -> FileData:
    """A file input as bytes. Accepts a local path, an upstream artifact (`{"artifact": true,
    "path": ...}`), an output holding one artifact (`{"artifacts": [...]}`), or raw bytes."""
    raw = ctx.inputs.get(key) if value is None else value
    label = _label(ctx, key)
    if raw is None or raw == "" or raw == []:
        raise InputError(f"{ctx.node.name}: '{label}' is required (a local file path or an upstream file)")
    if isinstance(raw, (bytes, bytearray)):
        file_name = name or "file"
        return FileData(file_name, bytes(raw), _guess_type(file_name))
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        # A list input (Images) turns upstream artifacts into their JSON text: read them back.
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            raw = decoded
    artifact = _artifact_of(raw)
    if artifact is not None:
        raw = artifact
    if isinstance(raw, dict):
        if "path" in raw:
            path = _local_path(ctx, str(raw["path"]))
            media_type = raw.get("media_type") or _guess_type(path.name)
            return FileData(name or path.name, _read(ctx, label, path), media_type)
        if "data" in raw:  # base64 in a JSON value
            try:
                data = base64.b64decode(raw["data"], validate=True)
            except (ValueError, TypeError) as exc:
                raise InputError(f"{ctx.node.name}: '{label}' data is not valid base64") from exc
            file_name = name or raw.get("name") or raw.get("filename") or "file"
            return FileData(file_name, data, raw.get("media_type") or _guess_type(file_name))
        raise InputError(f"{ctx.node.name}: '{label}' must be a file path or a file from an upstream node")
    path = _local_path(ctx, str(raw))
    return FileData(name or path.name, _read(ctx, label, path), _guess_type(path.name))


def _local_path(ctx: NodeContext, text: str) -> Path:
    """A path as a flow file means it: relative to the flow's folder (never the working folder)."""
    from studio.flow.capabilities import resolve_path

    return resolve_path(text, ctx.services.get("flow_dir") or ctx.run_dir)


def _artifact_of(value: Any) -> dict[str, Any] | None:
    """Find the artifact in an upstream value: the artifact itself, a list of them (the first),
    or a node output that carries one (`file`, `audio`, `images`, `artifacts` ...)."""
    if isinstance(value, list) and value:
        return _artifact_of(value[0])
    if not isinstance(value, dict):
        return None
    if value.get("artifact") is True and "path" in value:
        return value
    for key in ARTIFACT_KEYS:
        found = _artifact_of(value.get(key)) if key in value else None
        if found is not None:
            return found
    return None


# Output keys under which handlers put their files, searched in this order.
ARTIFACT_KEYS = ("artifact", "file", "audio", "image", "images", "artifacts", "files")


def _read(ctx: NodeContext, label: str, path: Path) -> bytes:
    """The file's bytes, if this run may read it (inside the flow's folder or the run's files,
    or a path written in a trusted flow; studio/flow/capabilities.py)."""
    from studio.flow.capabilities import NotPermitted

    try:
        ctx.grant().check_read(path, f"{ctx.node.name}: '{label}'")
    except NotPermitted as exc:
        raise InputError(str(exc)) from None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{ctx.node.name}: '{label}': file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{ctx.node.name}: '{label}': {path} is a folder, expected a file") from None
    except OSError as exc:
        raise InputError(f"{ctx.node.name}: '{label}': cannot read {path}: {exc.strerror}") from None


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


# --- usage ------------------------------------------------------------------------------------


def report_usage(ctx: NodeContext, usage: Any) -> dict[str, Any] | None:
    """Tell the run how many tokens a call used (an engine event the run totals), and return the
    usage as plain JSON for the node's output."""
    plain = to_plain(usage)
    if not isinstance(plain, dict) or not plain:
        return None
    if any(key.endswith("tokens") for key in plain):  # not e.g. audio seconds
        ctx.emit("usage", usage=plain)
    return plain
