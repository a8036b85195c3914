"""Audio: Create Speech (text to an audio artifact), Transcribe and Translate (an audio file from
a local path or an upstream artifact to text)."""

from __future__ import annotations

from typing import Any

from studio.engine.context import NodeContext

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

# File extension and media type of each speech output format.
SPEECH_FORMATS = {
    "mp3": ("mp3", "audio/mpeg"),
    "opus": ("opus", "audio/ogg"),
    "aac": ("aac", "audio/aac"),
    "flac": ("flac", "audio/flac"),
    "wav": ("wav", "audio/wav"),
    "pcm": ("pcm", "audio/L16"),
}
TRANSCRIPT_FORMATS = {"json", "text", "srt", "verbose_json", "vtt", "diarized_json"}


@handles("audio.speech")
async def create_speech(ctx: NodeContext) -> dict[str, Any]:
    response_format = str(ctx.inputs.get("response_format") or "mp3")
    if response_format not in SPEECH_FORMATS:
        raise InputError(
            f"{ctx.node.name}: 'Response Format' must be one of {', '.join(SPEECH_FORMATS)}, got {response_format!r}"
        )
    speed = ctx.inputs.get("speed")
    params = present(
        model=ctx.inputs.get("model") or "tts-1",
        input=required(ctx, "input"),
        voice=ctx.inputs.get("voice") or "alloy",
        response_format=response_format,
        speed=float(speed) if speed not in (None, "") else None,
        instructions=ctx.inputs.get("instructions"),
    )
    if params.get("speed") is not None and not 0.25 <= params["speed"] <= 4.0:
        raise InputError(f"{ctx.node.name}: 'Speed' must be between 0.25 and 4.0")
    client = await connect(ctx)
    response = await api_call(ctx, client.sdk.audio.speech.create(**params, **timeout_kw(ctx)))
    ext, media_type = SPEECH_FORMATS[response_format]
    name = ctx.inputs.get("file_name") or f"speech.{ext}"
    if "." not in name:
        name = f"{name}.{ext}"
    artifact = ctx.save_artifact(name, response.content, media_type).to_json()
    return {"audio": artifact, "model": params["model"], "voice": params["voice"], "format": response_format}


def _transcript_params(ctx: NodeContext, default_model: str) -> dict[str, Any]:
    file = load_file(ctx, "file")
    response_format = ctx.inputs.get("response_format") or None
    if response_format is not None and response_format not in TRANSCRIPT_FORMATS:
        raise InputError(
            f"{ctx.node.name}: 'Response Format' must be one of {', '.join(sorted(TRANSCRIPT_FORMATS))}"
        )
    temperature = ctx.inputs.get("temperature")
    return present(
        file=file.as_upload(),
        model=ctx.inputs.get("model") or default_model,
        prompt=ctx.inputs.get("prompt"),
        response_format=response_format,
        temperature=float(temperature) if temperature not in (None, "") else None,
    )


def _transcript_output(result: Any, response_format: str | None) -> dict[str, Any]:
    """Text formats (text, srt, vtt) come back as a string; JSON formats as an object. Either way
    the output has `text`, so `{{ nodes.X.output.text }}` always works."""
    if isinstance(result, str):
        return {"text": result, "format": response_format or "text"}
    plain = to_plain(result)
    if isinstance(plain, dict):
        plain.setdefault("format", response_format or "json")
        return plain
    return {"text": str(plain), "format": response_format or "json"}


@handles("audio.transcribe")
async def transcribe(ctx: NodeContext) -> dict[str, Any]:
    params = _transcript_params(ctx, "whisper-1")
    language = ctx.inputs.get("language")
    if language:
        params["language"] = language
    granularities = string_list(ctx.inputs.get("timestamp_granularities"))
    if granularities:
        params["timestamp_granularities"] = granularities
    client = await connect(ctx)
    result = await api_call(ctx, client.sdk.audio.transcriptions.create(**params, **timeout_kw(ctx)))
    output = _transcript_output(result, params.get("response_format"))
    usage = report_usage(ctx, output.get("usage")) if isinstance(output.get("usage"), dict) else None
    if usage:
        output["usage"] = usage
    return output


@handles("audio.translate")
async def translate(ctx: NodeContext) -> dict[str, Any]:
    params = _transcript_params(ctx, "whisper-1")
    client = await connect(ctx)
    result = await api_call(ctx, client.sdk.audio.translations.create(**params, **timeout_kw(ctx)))
    return _transcript_output(result, params.get("response_format"))
