"""Images (generation) and audio (speech, transcription, translation)."""

from __future__ import annotations

import base64
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .common import SPEECH_TYPES, Call, _BadRequest, _clock, _id, _now, _tokens
from .controls import RecordedRequest
from .payloads import image_sample, speech_bytes


class MediaRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"images": "_route_images", "audio": "_route_audio"}

    async def _route_images(self, call: Call) -> Response | None:
        if call.rest == ["generations"] and call.method == "POST":
            return self._images(call.body, call.request)
        if call.rest in (["edits"], ["variations"]) and call.method == "POST":
            return self._image_edit(call.record, variation=call.rest[0] == "variations")
        return None

    def _image_edit(self, record: RecordedRequest, *, variation: bool) -> Response:
        """Edits (a prompt, one or more images, an optional mask) and variations (one image) answer
        like generations; the edit's images must all arrive."""
        images = [u for u in record.uploads if u[0] in ("image", "image[]")]
        if not images:
            raise _BadRequest("Missing required parameter: 'image'.", param="image")
        form = dict(record.form)
        model = form.get("model") or ("dall-e-2" if variation else "gpt-image-1")
        if variation:
            form["prompt"] = f"variation of {images[0][1]}"
        elif len(images) > 1 and not str(model).startswith("gpt-image"):
            raise _BadRequest("Only gpt-image models take several images.", param="image")
        if "mask" in record.files and not str(model).startswith(("gpt-image", "dall-e-2")):
            raise _BadRequest("This model does not take a mask.", param="mask")
        body = {k: v for k, v in form.items() if v not in (None, "")}
        body["model"] = model
        for key in ("n", "output_compression"):
            if key in body:
                body[key] = int(body[key])
        return self._images(body, None)

    async def _route_audio(self, call: Call) -> Response | None:
        if call.rest == ["speech"] and call.method == "POST":
            return self._speech(call.body)
        if call.rest in (["transcriptions"], ["translations"]) and call.method == "POST":
            return self._transcript(call.record, translate=call.rest[0] == "translations")
        return None

    def _images(self, body: dict[str, Any], request: Request) -> Response:
        prompt = body.get("prompt")
        if not prompt:
            raise _BadRequest("Missing required parameter: 'prompt'.", param="prompt")
        model = body.get("model") or "dall-e-2"
        n = int(body.get("n") or 1)
        if model.startswith("dall-e-3") and n != 1:
            raise _BadRequest("You must provide n=1 for this model.", param="n")
        as_url = not model.startswith("gpt-image") and body.get("response_format", "url") == "url"
        image, media_type = image_sample(self.image_format or body.get("output_format") or "png")
        encoded = base64.b64encode(image).decode("ascii")
        data = []
        for _ in range(n):
            item: dict[str, Any] = {}
            if self.image_data_urls:
                item["url"] = f"data:{media_type};base64,{encoded}"
            elif as_url:
                name = _id("img-")
                self.images[name] = (image, media_type)
                item["url"] = f"http://{self.host}:{self.port}/_fake/images/{name}"
            else:
                item["b64_json"] = encoded
            if model.startswith("dall-e-3"):
                item["revised_prompt"] = f"Revised: {prompt}"
            data.append(item)
        result: dict[str, Any] = {"created": _now(), "data": data}
        if model.startswith("gpt-image"):
            tokens = _tokens(prompt)
            chosen = {k: v for k, v in body.items() if v != "auto"}  # "auto" answers with what was picked
            result.update({"background": chosen.get("background", "opaque"),
                           "output_format": chosen.get("output_format", "png"),
                           "quality": chosen.get("quality", "medium"), "size": chosen.get("size", "1024x1024"),
                           "usage": {"input_tokens": tokens, "output_tokens": 272 * n,
                                     "total_tokens": tokens + 272 * n,
                                     "input_tokens_details": {"text_tokens": tokens, "image_tokens": 0}}})
        return JSONResponse(result)

    def _speech(self, body: dict[str, Any]) -> Response:
        for key in ("model", "input", "voice"):
            if not body.get(key):
                raise _BadRequest(f"Missing required parameter: '{key}'.", param=key)
        fmt = body.get("response_format") or "mp3"
        if fmt not in SPEECH_TYPES:
            raise _BadRequest(f"Invalid value: '{fmt}'.", param="response_format")
        return Response(speech_bytes(str(body["input"]), fmt), media_type=SPEECH_TYPES[fmt])

    def _transcript(self, record: RecordedRequest, *, translate: bool) -> Response:
        form = record.form
        if "file" not in record.files:
            raise _BadRequest("Missing required parameter: 'file'.", param="file")
        if not form.get("model"):
            raise _BadRequest("Missing required parameter: 'model'.", param="model")
        filename, size = record.files["file"]
        data = record.file_bytes.get("file", b"")
        try:
            text = data.decode("utf-8").strip()
            if not text or any(ord(c) < 9 for c in text):
                raise ValueError
        except ValueError:
            text = f"Audio from {filename} ({size} bytes)."
        words = text.split()
        duration = round(max(1.0, len(words) * 0.4), 2)
        fmt = form.get("response_format") or "json"
        if fmt == "text":
            return PlainTextResponse(text + "\n")
        if fmt == "srt":
            return PlainTextResponse(f"1\n00:00:00,000 --> {_clock(duration, ',')}\n{text}\n\n")
        if fmt == "vtt":
            return PlainTextResponse(f"WEBVTT\n\n00:00:00.000 --> {_clock(duration, '.')}\n{text}\n\n")
        if fmt == "verbose_json":
            result: dict[str, Any] = {
                "task": "translate" if translate else "transcribe", "language": "english", "duration": duration,
                "text": text,
                "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": " " + text, "tokens": [1],
                              "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.0,
                              "no_speech_prob": 0.01}],
                "usage": {"type": "duration", "seconds": math.ceil(duration)},
            }
            granularities = form.get("timestamp_granularities[]") or form.get("timestamp_granularities")
            granularities = granularities if isinstance(granularities, list) else [granularities]
            if "word" in granularities:
                result["words"] = [{"word": w, "start": round(i * 0.4, 2), "end": round(i * 0.4 + 0.4, 2)}
                                   for i, w in enumerate(words)]
            return JSONResponse(result)
        if fmt not in ("json", "diarized_json"):
            raise _BadRequest(f"Invalid value: '{fmt}'.", param="response_format")
        return JSONResponse({"text": text, "usage": {"type": "duration", "seconds": math.ceil(duration)}})
