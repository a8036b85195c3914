"""Generate an Image (dall-e-2, dall-e-3, gpt-image-1) and Analyze Image (vision through chat
completions). Generated images are saved as run artifacts; image inputs may be URLs, local
files or upstream artifacts (sent as data URLs)."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx

from studio.engine.context import NodeContext, NodeError

from ._common import (
    InputError,
    api_call,
    connect,
    file_items,
    handles,
    load_file,
    present,
    report_usage,
    required,
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
_EXT_BY_TYPE = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif",
                "image/svg+xml": "svg"}
_TYPE_BY_FORMAT = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp",
                   "gif": "image/gif", "svg": "image/svg+xml"}
# An SVG document: optional BOM, XML declaration, comments and doctype, then the <svg> root.
_SVG_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*|<!--.*?-->\s*|<!doctype[^>]*>\s*)*<svg[\s>/]",
                        re.IGNORECASE | re.DOTALL)


def sniff_image_type(data: bytes) -> str | None:
    """The media type the bytes really are (PNG, JPEG, GIF, WebP by magic bytes; SVG by its XML
    root element), or None when they are none of these."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if _SVG_START.match(data[:4096]):
        return "image/svg+xml"
    return None


def decode_data_url(url: str) -> tuple[bytes, str | None]:
    """The bytes and media type of a `data:[<type>][;base64],<data>` URL."""
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise ValueError("a data: URL without a comma")
    params = [p.strip() for p in header.split(";")]
    media_type = params[0].lower() or None
    if "base64" in (p.lower() for p in params[1:]):
        return base64.b64decode(unquote_to_bytes(payload), validate=False), media_type
    return unquote_to_bytes(payload), media_type


def _image_type(data: bytes, declared: str | None, requested_format: str | None) -> str:
    """What the image is: its bytes say, else what the server declared (an image type), else the
    format that was asked for, else PNG."""
    declared = (declared or "").split(";")[0].strip().lower()
    return (sniff_image_type(data)
            or (declared if declared.startswith("image/") else None)
            or _TYPE_BY_FORMAT.get(str(requested_format or "").lower())
            or "image/png")


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
    return await save_images(ctx, params, result)


async def save_images(ctx: NodeContext, params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """An Images API answer as the node's output: each image saved as a run artifact (typed by its
    bytes), the model's choices and the usage."""
    requested = result.get("output_format") or params.get("output_format")
    images = []
    for index, item in enumerate(result.get("data") or []):
        data, declared = await _image_bytes(ctx, item)
        media_type = _image_type(data, declared, requested)
        ext = _EXT_BY_TYPE.get(media_type) or (mimetypes.guess_extension(media_type) or ".bin").lstrip(".")
        artifact = ctx.save_artifact(f"image-{index + 1}.{ext}", data, media_type).to_json()
        if item.get("url") and not str(item["url"]).lower().startswith("data:"):  # a data: URL is the image itself
            artifact["url"] = item["url"]
        if item.get("revised_prompt"):
            artifact["revised_prompt"] = item["revised_prompt"]
        images.append(artifact)
    output: dict[str, Any] = {"created": result.get("created"), "model": params.get("model"), "images": images}
    for key in ("background", "output_format", "quality", "size"):
        if key in result:
            output[key] = result[key]
    usage = report_usage(ctx, result.get("usage"))
    if usage:
        output["usage"] = usage
    return output


async def _image_bytes(ctx: NodeContext, item: dict[str, Any]) -> tuple[bytes, str | None]:
    """The image's bytes and the media type the server gave for them (None: not given)."""
    if item.get("b64_json"):
        try:
            data = base64.b64decode(item["b64_json"])
        except ValueError as exc:
            raise NodeError(f"{ctx.node.name}: the server sent an image that is not valid base64") from exc
        return data, None
    url = str(item.get("url") or "").strip()
    if not url:
        raise NodeError(f"{ctx.node.name}: the server sent an image without data or URL")
    if url[:5].lower() == "data:":
        try:
            return decode_data_url(url)
        except (ValueError, binascii.Error) as exc:
            raise NodeError(f"{ctx.node.name}: the server sent an image data: URL that cannot be decoded "
                            f"({exc})") from exc
    try:
        async with httpx.AsyncClient(timeout=ctx.timeout_s or 60.0, follow_redirects=True) as http:
            response = await http.get(url)
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise NodeError(f"{ctx.node.name}: could not download the generated image: {exc}") from exc
    return response.content, response.headers.get("content-type")


# --- Analyze Image ----------------------------------------------------------------------------


def image_sources(ctx: NodeContext) -> list[str]:
    """Every image to look at, as a URL: web URLs as given, files and artifacts as data URLs."""
    raw = ctx.inputs.get("images")
    if raw is None or raw == "" or raw == []:
        raw = ctx.inputs.get("image_urls") or ctx.inputs.get("image")
    items = file_items(raw)
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
