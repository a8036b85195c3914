"""Edit Image (one or more input images, an optional mask, a prompt; gpt-image-1 or dall-e-2) and
Create Image Variation (dall-e-2). Inputs are local files or upstream artifacts; the results are
saved as run artifacts like Create Image's."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext

from ._common import (InputError, api_call, connect, file_items, handles, load_file, present, required, timeout_kw,
                      to_plain)
from .images import save_images

GPT_IMAGE_ONLY = ("background", "output_format", "output_compression", "input_fidelity")


def _images(ctx: NodeContext) -> list[Any]:
    items = file_items(ctx.inputs.get("images"))
    if not items:
        raise InputError(f"{ctx.node.name}: 'Images' is required (local files or upstream images)")
    return [load_file(ctx, "images", value=item).as_upload() for item in items]


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


@handles("image.edit")
async def edit_image(ctx: NodeContext) -> dict[str, Any]:
    model = str(ctx.inputs.get("model") or "gpt-image-1")
    images = _images(ctx)
    gpt_image = model.startswith("gpt-image")
    if len(images) > 1 and not gpt_image:
        raise InputError(f"{ctx.node.name}: {model} edits one image; several 'Images' need gpt-image-1")
    if len(images) > 16:
        raise InputError(f"{ctx.node.name}: at most 16 'Images', got {len(images)}")
    params = present(
        prompt=required(ctx, "prompt"), model=model, n=_int(ctx.inputs.get("n")), size=ctx.inputs.get("size"),
        quality=ctx.inputs.get("quality"), background=ctx.inputs.get("background"),
        output_format=ctx.inputs.get("output_format"), output_compression=_int(ctx.inputs.get("output_compression")),
        input_fidelity=ctx.inputs.get("input_fidelity"), user=ctx.inputs.get("user"),
    )
    if not gpt_image:
        ignored = [k for k in GPT_IMAGE_ONLY if params.pop(k, None) is not None]
        if ignored:
            ctx.emit("progress", message=f"{model} does not take: {', '.join(ignored)} (left out)")
        params["response_format"] = "b64_json"
    mask = ctx.inputs.get("mask")
    if mask not in (None, "", []):
        params["mask"] = load_file(ctx, "mask").as_upload()
    client = await connect(ctx)
    image = images if gpt_image else images[0]
    result = to_plain(await api_call(ctx, client.sdk.images.edit(image=image, **params, **timeout_kw(ctx))))
    return await save_images(ctx, params, result)


@handles("image.variation")
async def image_variation(ctx: NodeContext) -> dict[str, Any]:
    images = _images(ctx)
    if len(images) != 1:
        raise InputError(f"{ctx.node.name}: a variation starts from one image, got {len(images)}")
    params = present(model=ctx.inputs.get("model") or "dall-e-2", n=_int(ctx.inputs.get("n")),
                     size=ctx.inputs.get("size"), response_format="b64_json", user=ctx.inputs.get("user"))
    client = await connect(ctx)
    result = to_plain(await api_call(ctx, client.sdk.images.create_variation(image=images[0], **params,
                                                                             **timeout_kw(ctx))))
    return await save_images(ctx, params, result)
