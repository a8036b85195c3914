"""Video (Sora): create a video and wait for it with progress, then save it as a run file; remix
an existing video; get, list, download and delete videos."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext, NodeError

from ._common import api_call, bool_input, connect, handles, load_file, present, required, timeout_kw, to_plain
from ._polling import poll_until_done

VIDEO_DONE = {"completed", "failed"}
VARIANT_TYPES = {"video": ("mp4", "video/mp4"), "thumbnail": ("webp", "image/webp"),
                 "spritesheet": ("jpg", "image/jpeg")}


def _video_id(ctx: NodeContext) -> str:
    return str(required(ctx, "video_id")).strip()


def _progress(video: dict[str, Any]) -> str:
    return f"{video.get('status')} ({video.get('progress', 0)}%)"


async def _finish(ctx: NodeContext, client: Any, video: dict[str, Any]) -> dict[str, Any]:
    """Wait for the video (unless the node says not to) and save it as a run file."""
    if not bool_input(ctx, "wait", default=True):
        return {"video": video}
    video_id = video["id"]

    async def fetch() -> dict[str, Any]:
        return to_plain(await api_call(ctx, client.sdk.videos.retrieve(video_id, **timeout_kw(ctx))))

    video = await poll_until_done(ctx, video, fetch, VIDEO_DONE, what=f"video {video_id}", progress=_progress)
    if video.get("status") != "completed":
        message = (video.get("error") or {}).get("message") or "no reason given"
        raise NodeError(f"{ctx.node.name}: video {video_id} failed: {message}", details={"video": video})
    return {"video": video, "file": await _download(ctx, client, video_id, "video")}


async def _download(ctx: NodeContext, client: Any, video_id: str, variant: str) -> dict[str, Any]:
    ext, media_type = VARIANT_TYPES[variant]
    content = await api_call(ctx, client.sdk.videos.download_content(video_id, variant=variant, **timeout_kw(ctx)))
    return ctx.save_artifact(f"{video_id}.{ext}" if variant == "video" else f"{video_id}-{variant}.{ext}",
                             content.content, media_type).to_json()


@handles("video.create")
async def create_video(ctx: NodeContext) -> dict[str, Any]:
    params = present(prompt=str(required(ctx, "prompt")), model=ctx.inputs.get("model"),
                     seconds=str(ctx.inputs.get("seconds") or "") or None, size=ctx.inputs.get("size"))
    if ctx.inputs.get("input_reference") not in (None, "", []):
        params["input_reference"] = load_file(ctx, "input_reference").as_upload()
    client = await connect(ctx)
    video = to_plain(await api_call(ctx, client.sdk.videos.create(**params, **timeout_kw(ctx))))
    return await _finish(ctx, client, video)


@handles("video.remix")
async def remix_video(ctx: NodeContext) -> dict[str, Any]:
    video_id, prompt = _video_id(ctx), str(required(ctx, "prompt"))
    client = await connect(ctx)
    video = to_plain(await api_call(ctx, client.sdk.videos.remix(video_id, prompt=prompt, **timeout_kw(ctx))))
    return await _finish(ctx, client, video)


@handles("video.retrieve")
async def retrieve_video(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.videos.retrieve(_video_id(ctx), **timeout_kw(ctx))))


@handles("video.download")
async def download_video(ctx: NodeContext) -> dict[str, Any]:
    video_id = _video_id(ctx)
    variant = str(ctx.inputs.get("variant") or "video")
    client = await connect(ctx)
    return {"video_id": video_id, "variant": variant, "file": await _download(ctx, client, video_id, variant)}


@handles("video.list")
async def list_videos(ctx: NodeContext) -> dict[str, Any]:
    limit = ctx.inputs.get("limit")
    params = present(limit=int(limit) if limit not in (None, "") else None, order=ctx.inputs.get("order"),
                     after=ctx.inputs.get("after"))
    client = await connect(ctx)
    page = await api_call(ctx, client.sdk.videos.list(**params, **timeout_kw(ctx)))
    return {"object": "list", "data": [to_plain(v) for v in page.data],
            "has_more": bool(getattr(page, "has_more", False))}


@handles("video.delete")
async def delete_video(ctx: NodeContext) -> dict[str, Any]:
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.videos.delete(_video_id(ctx), **timeout_kw(ctx))))
