"""Upload Large File: the Uploads API's multipart upload (create, parts of up to 64 MB, complete
with the parts in order and the file's MD5), for files too big for one Upload File request. The
upload is cancelled if a part fails."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from studio.engine.context import NodeContext

from ._common import InputError, api_call, connect, handles, load_file, required, timeout_kw, to_plain

PURPOSES = ("assistants", "batch", "fine-tune", "vision")
MAX_PART_MB = 64
# Types the Uploads API expects that Python's mimetypes does not know (batch and fine-tune files).
MIME_BY_SUFFIX = {".jsonl": "application/jsonl", ".md": "text/markdown"}


@handles("upload.create")
async def upload_large_file(ctx: NodeContext) -> dict[str, Any]:
    purpose = str(required(ctx, "purpose"))
    if purpose not in PURPOSES:
        raise InputError(f"{ctx.node.name}: 'Purpose' must be one of {', '.join(PURPOSES)}, got {purpose!r}")
    part_mb = float(ctx.inputs.get("part_size_mb") or MAX_PART_MB)
    if not 0 < part_mb <= MAX_PART_MB:
        raise InputError(f"{ctx.node.name}: 'Part Size (MB)' must be above 0 and at most {MAX_PART_MB}")
    file = load_file(ctx, "file", name=ctx.inputs.get("filename") or None)
    part_size = max(1, int(part_mb * 1024 * 1024))
    suffix = "." + file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    mime_type = MIME_BY_SUFFIX.get(suffix) if file.media_type == "application/octet-stream" else None
    client = await connect(ctx)
    upload = await api_call(ctx, client.sdk.uploads.create(bytes=len(file.data), filename=file.name,
                                                           mime_type=mime_type or file.media_type, purpose=purpose,
                                                           **timeout_kw(ctx)))
    chunks = [file.data[i:i + part_size] for i in range(0, len(file.data), part_size)] or [b""]
    part_ids = []
    try:
        for index, chunk in enumerate(chunks):
            part = await api_call(ctx, client.sdk.uploads.parts.create(upload.id, data=chunk, **timeout_kw(ctx)))
            part_ids.append(part.id)
            ctx.emit("progress", message=f"upload {upload.id}: part {index + 1}/{len(chunks)}",
                     parts_done=index + 1, parts=len(chunks))
        done = await api_call(ctx, client.sdk.uploads.complete(upload.id, part_ids=part_ids,
                                                               md5=hashlib.md5(file.data).hexdigest(),
                                                               **timeout_kw(ctx)))
    except (Exception, asyncio.CancelledError):
        try:
            await asyncio.wait_for(asyncio.shield(client.sdk.uploads.cancel(upload.id)), timeout=5)
        except BaseException:  # best effort: the node fails with the original error
            pass
        raise
    result = to_plain(done)
    result["parts"] = len(part_ids)
    return result
