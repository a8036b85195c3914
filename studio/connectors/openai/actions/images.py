"""Generate an Image (dall-e-2, dall-e-3, gpt-image-1) and Analyze Image (vision through chat
completions). Generated images are saved as run artifacts; image inputs may be URLs, local
files or upstream artifacts (sent as data URLs)."""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

import httpx

from studio.engine.context import NodeContext, NodeError

from ._common import (
    InputError,
    api_call,
    connect,
    handles,
    load_file,
    present,
    report_usage,
    required,
    string_list,
    timeout_kw,
    to_plain,
)
from .chat import completion_params, run_completion

# Which request parameters each model family understands; others are left out (and reported),
# because the catalog's defaults cannot fit every model at once.
_COMMON = {"prompt", "model", "n", "size", "quality", "user"}
_PARAMS_BY_FAMILY = {
    "dall-e-2": _COMMON | {"response_format"},
    "dall-e-3": _COMMON | {"response_format", "style"},
    "gpt-image": _COMMON | {"background", "output_format", "output_compression", "moderation"},
}
_QUALITY_BY_FAMILY = {
    "dall-e-2": {"standard"},
    "dall-e-3": {"standard", "hd"},
    "gpt-image": {"low", "medium", "high", "auto"},
}
_EXT_BY_TYPE = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def _family(model: str) -> str:
    if model.startswith("dall-e-2"):
        return "dall-e-2"
    if model.startswith("dall-e-3"):
        return "dall-e-3"
    return "gpt-image"  # gpt-image-1 and newer image models


def image_params(ctx: NodeContext) -> tuple[dict[str, Any], list[str]]:
    """The request body for the chosen model, and the names of options it cannot take."""
    model = str(ctx.inputs.get("model") or "dall-e-3")
    family = _family(model)
    n = ctx.inputs.get("n")
    compression = ctx.inputs.get("output_compression")
    candidate = present(
        prompt=required(ctx, "prompt"),
        model=model,
        n=int(n) if n not in (None, "") else None,
        size=ctx.inputs.get("size"),
        quality=ctx.inputs.get("quality"),
        style=ctx.inputs.get("style"),
        response_format=ctx.inputs.get("response_format"),
        background=ctx.inputs.get("background"),
        output_format=ctx.inputs.get("output_format"),
        output_compression=int(compression) if compression not in (None, "") else None,
        moderation=ctx.inputs.get("moderation"),
        user=ctx.inputs.get("user"),
    )
    allowed = _PARAMS_BY_FAMILY[family]
    if "quality" in candidate and candidate["quality"] not in _QUALITY_BY_FAMILY[family]:
        allowed = allowed - {"quality"}
    if family == "dall-e-3" and candidate.get("n", 1) != 1:
        raise InputError(f"{ctx.node.name}: dall-e-3 makes one image per request; set 'Number of Images' to 1")
    if candidate.get("n") is not None and not 1 <= candidate["n"] <= 10:
        raise InputError(f"{ctx.node.name}: 'Number of Images' must be between 1 and 10")
    params = {k: v for k, v in candidate.items() if k in allowed}
    ignored = sorted(k for k in candidate if k not in allowed)
    return params, ignored


@handles("image.generate")
async def generate_image(ctx: NodeContext) -> dict[str, Any]:
    params, ignored = image_params(ctx)
    if ignored:
        ctx.emit("progress", message=f"{params['model']} does not take: {', '.join(ignored)} (left out)")
    client = await connect(ctx)
    result = to_plain(await api_call(ctx, client.sdk.images.generate(**params, **timeout_kw(ctx))))
    default_ext = params.get("output_format", "png")
    images = []
    for index, item in enumerate(result.get("data") or []):
        data, media_type = await _image_bytes(ctx, item, default_ext)
        ext = _EXT_BY_TYPE.get(media_type, default_ext)
        artifact = ctx.save_artifact(f"image-{index + 1}.{ext}", data, media_type).to_json()
        for key in ("url", "revised_prompt"):
            if item.get(key):
                artifact[key] = item[key]
        images.append(artifact)
    output: dict[str, Any] = {"created": result.get("created"), "model": params["model"], "images": images}
    for key in ("background", "output_format", "quality", "size"):
        if key in result:
            output[key] = result[key]
    usage = report_usage(ctx, result.get("usage"))
    if usage:
        output["usage"] = usage
    return output


async def _image_bytes(ctx: NodeContext, item: dict[str, Any], default_ext: str) -> tuple[bytes, str]:
    if item.get("b64_json"):
        try:
            data = base64.b64decode(item["b64_json"])
        except ValueError as exc:
            raise NodeError(f"{ctx.node.name}: the server sent an image that is not valid base64") from exc
        return data, mimetypes.types_map.get("." + default_ext.replace("jpg", "jpeg"), "image/png")
    url = item.get("url")
    if not url:
        raise NodeError(f"{ctx.node.name}: the server sent an image without data or URL")
    try:
        async with httpx.AsyncClient(timeout=ctx.timeout_s or 60.0, follow_redirects=True) as http:
            response = await http.get(url)
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise NodeError(f"{ctx.node.name}: could not download the generated image: {exc}") from exc
    media_type = response.headers.get("content-type", "image/png").split(";")[0].strip()
    return response.content, media_type


# --- Analyze Image ----------------------------------------------------------------------------


def image_sources(ctx: NodeContext) -> list[str]:
    """Every image to look at, as a URL: web URLs as given, files and artifacts as data URLs."""
    raw = ctx.inputs.get("images")
    if raw is None or raw == "" or raw == []:
        raw = ctx.inputs.get("image_urls") or ctx.inputs.get("image")
    items: list[Any]
    if isinstance(raw, str):
        items = string_list(raw)
    elif isinstance(raw, dict):
        nested = raw.get("images") or raw.get("artifacts")
        items = list(nested) if isinstance(nested, list) else [raw]
    elif isinstance(raw, list):
        items = raw
    else:
        items = []
    if not items:
        raise InputError(f"{ctx.node.name}: 'Images' is required (URLs, local files or an upstream image)")
    urls = []
    for item in items:
        if isinstance(item, str) and item.startswith(("http://", "https://", "data:")):
            urls.append(item)
        else:
            urls.append(load_file(ctx, "images", value=item).data_url())
    return urls


@handles("image.analyze")
async def analyze_image(ctx: NodeContext) -> Any:
    question = ctx.inputs.get("prompt") or ctx.inputs.get("text") or "What's in this image?"
    detail = ctx.inputs.get("detail") or "auto"
    content: list[dict[str, Any]] = [{"type": "text", "text": str(question)}]
    for url in image_sources(ctx):
        content.append({"type": "image_url", "image_url": {"url": url, "detail": detail}})
    # n8n's defaults for this operation: a vision model and a short description (300 tokens).
    ctx.inputs = {**ctx.inputs, "model": ctx.inputs.get("model") or "gpt-4o",
                  "max_tokens": ctx.inputs.get("max_tokens") or 300}
    params = completion_params(ctx, [{"role": "user", "content": content}])
    return await run_completion(ctx, params)
