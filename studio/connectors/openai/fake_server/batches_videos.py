"""Batch (a JSONL file of requests answered into an output file, one status step per look) and
Videos (Sora: each look moves a video's progress 0 -> 50 -> 100; content is small MP4-looking
bytes; remix, list, delete)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from .common import Call, _BadRequest, _error, _id, _now, _public, _text_of, last_user_text, page
from .payloads import image_sample

BATCH_STEPS = ("validating", "in_progress", "finalizing", "completed")
BATCH_ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/moderations")
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def batch_answer(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    """The echo answer one batch line gets (the same echo the live endpoints give)."""
    if endpoint == "/v1/chat/completions":
        text = f"Echo: {last_user_text(body.get('messages'))}"
        return {"id": _id("chatcmpl-"), "object": "chat.completion", "created": _now(), "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": text, "refusal": None}}]}
    raw = body.get("input")
    text = f"Echo: {raw if isinstance(raw, str) else last_user_text(raw)}"
    return {"id": _id("resp_"), "object": "response", "created_at": _now(), "status": "completed",
            "model": body.get("model"), "output": [{"id": _id("msg_"), "type": "message", "role": "assistant",
                                                    "status": "completed", "content": [
                                                        {"type": "output_text", "text": text, "annotations": []}]}]}


class BatchVideoRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"batches": "_route_batches", "videos": "_route_videos"}

    # --- batch ----------------------------------------------------------------------------------

    async def _route_batches(self, call: Call) -> Response | None:
        body, rest = call.body, call.rest
        if not rest and call.method == "POST":
            if body.get("endpoint") not in BATCH_ENDPOINTS:
                raise _BadRequest(f"Invalid endpoint: {body.get('endpoint')!r}.", param="endpoint")
            if body.get("input_file_id") not in self.files:
                raise _BadRequest(f"No file found with id '{body.get('input_file_id')}'.", param="input_file_id",
                                  status=404)
            lines = [json.loads(line) for line in self.file_contents[body["input_file_id"]].decode("utf-8").splitlines()
                     if line.strip()]
            now = _now()
            batch = {"id": _id("batch_"), "object": "batch", "endpoint": body["endpoint"],
                     "input_file_id": body["input_file_id"], "completion_window": body.get("completion_window", "24h"),
                     "status": "validating", "created_at": now, "expires_at": now + 86400,
                     "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                     "metadata": body.get("metadata") or {}, "_lines": lines, "_seq": self._next_seq()}
            with self._lock:
                self.batches[batch["id"]] = batch
            return JSONResponse(_public(batch))
        if not rest and call.method == "GET":
            return page(list(self.batches.values()), call.query)
        batch = self.batches.get(rest[0]) if rest else None
        if batch is None:
            return _error(404, f"No batch found with id '{rest[0] if rest else ''}'.", param="batch_id")
        if len(rest) == 1 and call.method == "GET":
            self._advance_batch(batch)
            return JSONResponse(_public(batch))
        if rest[1:] == ["cancel"] and call.method == "POST":
            if batch["status"] in ("completed", "failed", "expired", "cancelled"):
                raise _BadRequest(f"Cannot cancel a batch with status '{batch['status']}'.", param="batch_id")
            with self._lock:
                batch.update(status="cancelling", cancelling_at=_now())
            return JSONResponse(_public(batch))
        return None

    def _advance_batch(self, batch: dict[str, Any]) -> None:
        """One step per look; cancelling becomes cancelled; completing writes the output file."""
        with self._lock:
            if batch["status"] == "cancelling":
                batch.update(status="cancelled", cancelled_at=_now())
                return
            if batch["status"] not in BATCH_STEPS[:-1]:
                return
            batch["status"] = BATCH_STEPS[BATCH_STEPS.index(batch["status"]) + 1]
            batch[f"{batch['status']}_at"] = _now()
            if batch["status"] == "in_progress":
                batch["request_counts"]["completed"] = len(batch["_lines"]) // 2
        if batch["status"] != "completed":
            return
        out = []
        for line in batch["_lines"]:
            answer = batch_answer(batch["endpoint"], line.get("body") or {})
            out.append({"id": _id("batch_req_"), "custom_id": line.get("custom_id"), "error": None,
                        "response": {"status_code": 200, "request_id": _id("req_"), "body": answer}})
        data = "".join(json.dumps(o) + "\n" for o in out).encode("utf-8")
        file = {"id": _id("file-"), "object": "file", "bytes": len(data), "created_at": _now(),
                "filename": f"{batch['id']}_output.jsonl", "purpose": "batch_output", "status": "processed"}
        with self._lock:
            self.files[file["id"]] = file
            self.file_contents[file["id"]] = data
            batch.update(output_file_id=file["id"],
                         request_counts={"total": len(out), "completed": len(out), "failed": 0})

    # --- videos ---------------------------------------------------------------------------------

    def _new_video(self, prompt: str, model: str, seconds: str, size: str, remixed_from: str | None) -> dict[str, Any]:
        video = {"id": _id("video_"), "object": "video", "model": model, "status": "queued", "progress": 0,
                 "created_at": _now(), "completed_at": None, "expires_at": None, "prompt": prompt, "size": size,
                 "seconds": seconds, "remixed_from_video_id": remixed_from, "error": None, "_seq": self._next_seq()}
        with self._lock:
            self.videos[video["id"]] = video
        return video

    async def _route_videos(self, call: Call) -> Response | None:
        rest = call.rest
        form = call.record.form or call.body
        if not rest and call.method == "POST":
            if not form.get("prompt"):
                raise _BadRequest("Missing required parameter: 'prompt'.", param="prompt")
            video = self._new_video(str(form["prompt"]), str(form.get("model") or "sora-2"),
                                    str(form.get("seconds") or "4"), str(form.get("size") or "720x1280"), None)
            return JSONResponse(_public(video))
        if not rest and call.method == "GET":
            return page(list(self.videos.values()), call.query)
        video = self.videos.get(rest[0])
        if video is None:
            return _error(404, f"Video with id '{rest[0]}' not found.", param="video_id")
        if len(rest) == 1 and call.method == "GET":
            with self._lock:
                if video["status"] != "completed":
                    video["progress"] = min(100, video["progress"] + 50)
                    video["status"] = "completed" if video["progress"] >= 100 else "in_progress"
                    if video["status"] == "completed":
                        video.update(completed_at=_now(), expires_at=_now() + 86400)
            return JSONResponse(_public(video))
        if len(rest) == 1 and call.method == "DELETE":
            with self._lock:
                self.videos.pop(rest[0], None)
            return JSONResponse({"id": rest[0], "object": "video.deleted", "deleted": True})
        if rest[1:] == ["content"] and call.method == "GET":
            if video["status"] != "completed":
                raise _BadRequest("Video is not ready yet.", param="video_id", status=409)
            variant = call.query.get("variant") or "video"
            if variant in ("thumbnail", "spritesheet"):
                data, media_type = image_sample("webp" if variant == "thumbnail" else "jpeg")
                return Response(data, media_type=media_type)
            return Response(MP4_HEAD + _text_of(video["prompt"]).encode("utf-8"), media_type="video/mp4")
        if rest[1:] == ["remix"] and call.method == "POST":
            if not form.get("prompt"):
                raise _BadRequest("Missing required parameter: 'prompt'.", param="prompt")
            remix = self._new_video(str(form["prompt"]), video["model"], video["seconds"], video["size"], video["id"])
            return JSONResponse(_public(remix))
        return None
