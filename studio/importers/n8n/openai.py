"""The OpenAI node (`@n8n/n8n-nodes-langchain.openAi`), every typeVersion: resource/operation
pairs onto our actions, with the defaults each version applies to parameters a file omits.

Versions 1-1.8 (OpenAiV1) have the resources assistant, text, image, audio and file; 2 and 2.1
(OpenAiV2) add text/response (the Responses API), image/edit, video/generate and conversation
(create, get, update, remove) and drop assistants. Parameters that differ by version: image/analyze takes a model only from 1.4 (before
it always used gpt-4-vision-preview); assistant/message has memory/threadId from 1.6 and
preserveOriginalTools from 1.3; text/message `maxToolsIterations` from 1.5."""

from __future__ import annotations

import json
from typing import Any, Callable

from .context import Context, Mapped, maps
from .workflow import N8nNode

OPENAI = "@n8n/n8n-nodes-langchain.openAi"

DEFAULT_RESOURCE = "text"
DEFAULT_OPERATION = {  # per resource; the same in V1 and V2 except where noted
    "text": "message",
    "image": "generate",
    "audio": "generate",
    "file": "upload",
    "assistant": "message",
    "conversation": "create",
    "video": "generate",
}
V1_ANALYZE_MODEL = "gpt-4-vision-preview"  # typeVersion < 1.4 had no model field
ANALYZE_MODEL = "gpt-4o"  # what 1.4+ falls back to when the model is empty
IMAGE_MODEL = {1: "dall-e-3", 2: "gpt-image-1"}


def _major(n8n: N8nNode) -> int:
    return 2 if n8n.type_version >= 2 else 1


def _options(ctx: Context, n8n: N8nNode) -> dict[str, Any]:
    opts = ctx.param(n8n, "options", {})
    return opts if isinstance(opts, dict) else {}


def _model(ctx: Context, n8n: N8nNode, key: str = "modelId") -> Any:
    model = ctx.param(n8n, key, "")
    return model if model not in ("", None) else None


def _prompt_input(ctx: Context, n8n: N8nNode, mode_key: str = "prompt") -> Any:
    """n8n's 'take from previous node automatically' reads `chatInput` of the incoming item."""
    if n8n.param(mode_key, "auto") == "define":
        return ctx.param(n8n, "text", "")
    return "{{ input.chatInput }}"


def _json_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip() and "{{" not in value:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _text_message(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    raw = ctx.param(n8n, "messages.values", [{"content": "", "role": "user"}])
    messages = [{"role": m.get("role", "user") if m.get("role") in ("user", "assistant", "system") else "user",
                 "content": m.get("content", "")} for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
    opts = _options(ctx, n8n)
    values = {
        "model": _model(ctx, n8n),
        "messages": messages or [{"role": "user", "content": ""}],
        "simplify": bool(ctx.param(n8n, "simplify", True)),
        "json_output": bool(ctx.param(n8n, "jsonOutput", False)),
        "temperature": opts.get("temperature"),
        "top_p": opts.get("topP"),
        "n": opts.get("n"),
        "max_tokens": opts.get("maxTokens"),
        "frequency_penalty": opts.get("frequency_penalty"),
        "presence_penalty": opts.get("presence_penalty"),
        "stream": False,
    }
    return "chat.create_completion", values


def _text_response(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    raw = ctx.param(n8n, "responses.values", [{"type": "text"}])
    system, user = [], []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("type", "text") == "text":
            (system if item.get("role") == "system" else user).append(str(item.get("content", "")))
        elif isinstance(item, dict):
            ctx.report.warnings.append(f"{ctx.names.get(n8n.name)}: a {item.get('type')} message part has no "
                                       "equivalent and is left out")
    opts = _options(ctx, n8n)
    instructions = "\n\n".join([*system, *([opts["instructions"]] if opts.get("instructions") else [])])
    metadata = _json_text(opts.get("metadata"))
    values = {
        "model": _model(ctx, n8n),
        "input": "\n\n".join(user),
        "instructions": instructions or None,
        "previous_response_id": opts.get("previousResponseId") or None,
        "temperature": opts.get("temperature"),
        "max_output_tokens": opts.get("maxTokens"),
        "store": opts.get("store"),
        "metadata": metadata if isinstance(metadata, dict) and metadata else None,
        "simplify": bool(ctx.param(n8n, "simplify", True)),
        "stream": False,
    }
    return "responses.create", values


def _text_classify(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    opts = _options(ctx, n8n)
    return "moderation.classify", {"input": ctx.param(n8n, "input", ""),
                                   "use_stable_model": bool(opts.get("useStableModel", False)),
                                   "simplify": bool(ctx.param(n8n, "simplify", True))}


def _image_analyze(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    if n8n.type_version < 1.4:
        model = V1_ANALYZE_MODEL
    else:
        model = _model(ctx, n8n) or ANALYZE_MODEL
    opts = _options(ctx, n8n)
    values: dict[str, Any] = {"model": model, "text": ctx.param(n8n, "text", "What's in this image?"),
                              "detail": opts.get("detail"), "max_tokens": opts.get("maxTokens", 300)}
    if n8n.param("inputType", "url") == "url":
        urls = ctx.param(n8n, "imageUrls", "")
        values["input_type"] = "url"
        values["images"] = [u.strip() for u in urls.split(",") if u.strip()] if isinstance(urls, str) and "{{" not in urls else urls
    else:
        values["input_type"] = "file"
        values["images"] = ["{{ input }}"]  # n8n's binary property: the upstream file
    return "image.analyze", values


def _image_generate(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    model = ctx.param(n8n, "model", IMAGE_MODEL[_major(n8n)])
    model = model.get("value") if isinstance(model, dict) else model
    opts = _options(ctx, n8n)
    values: dict[str, Any] = {
        "model": model, "prompt": ctx.param(n8n, "prompt", ""), "n": opts.get("n"),
        "quality": opts.get("dalleQuality") or opts.get("quality"), "size": opts.get("size"),
        "style": opts.get("style"), "output_field": opts.get("binaryPropertyOutput"),
    }
    if model != "gpt-image-1":
        values["response_format"] = "url" if opts.get("returnImageUrls") else "b64_json"
    return "image.generate", values


def _image_edit(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    """n8n names binary fields of the incoming item; ours takes the upstream file(s). A mask or
    several image fields name other binary fields, which have no equivalent: the report says so."""
    model = ctx.param(n8n, "model", "gpt-image-1")
    gpt_image = isinstance(model, str) and model.startswith("gpt-image")
    opts = _options(ctx, n8n)
    fields = ctx.param(n8n, "images.values", [{"binaryPropertyName": "data"}]) if gpt_image else []
    where = ctx.names.get(n8n.name)
    if isinstance(fields, list) and len(fields) > 1:
        ctx.report.warnings.append(f"{where}: n8n's {len(fields)} image fields become the upstream file(s) "
                                   "in 'Images'; check them")
    if opts.get("imageMask"):
        ctx.report.warnings.append(f"{where}: the mask came from n8n's binary field {opts['imageMask']!r}; "
                                   "set 'Mask' to a file")
    values: dict[str, Any] = {
        "model": model, "prompt": ctx.param(n8n, "prompt", ""), "images": "{{ input }}",
        "n": ctx.param(n8n, "n", 1), "size": ctx.param(n8n, "size", "1024x1024"), "user": opts.get("user"),
    }
    if gpt_image:
        output_format = ctx.param(n8n, "outputFormat", "png")
        values.update(quality=ctx.param(n8n, "quality", "auto"), output_format=output_format,
                      background=opts.get("background"), input_fidelity=opts.get("inputFidelity"))
        if output_format in ("webp", "jpeg"):
            values["output_compression"] = ctx.param(n8n, "outputCompression", 100)
    return "image.edit", values


def _video_generate(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    """n8n creates the video, polls until it is done and downloads it: Generate Video waiting."""
    opts = _options(ctx, n8n)
    if opts.get("binaryPropertyNameReference"):
        ctx.report.warnings.append(f"{ctx.names.get(n8n.name)}: the reference image came from n8n's binary "
                                   f"field {opts['binaryPropertyNameReference']!r}; set 'Input Reference' to a file")
    seconds = ctx.param(n8n, "seconds", 4)
    return "video.create", {
        "model": ctx.param(n8n, "model", "sora-2"),
        "prompt": ctx.param(n8n, "prompt", "A video of a cat playing with a ball"),
        "seconds": str(int(seconds)) if isinstance(seconds, (int, float)) else seconds,
        "size": ctx.param(n8n, "size", "1280x720"),
        "wait": True, "max_wait_s": opts.get("waitTime") or 300,
    }


def _conversation_create(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    raw = ctx.param(n8n, "messages.values", [{"type": "text"}])
    items = [{"role": m.get("role", "user"), "content": m.get("content", "")}
             for m in raw if isinstance(m, dict) and m.get("content") not in (None, "")] if isinstance(raw, list) else []
    metadata = _json_text(_options(ctx, n8n).get("metadata"))
    return "conversation.create", {"items": items or None,
                                   "metadata": metadata if isinstance(metadata, dict) and metadata else None}


def _conversation(action: str) -> Callable[[Context, N8nNode], tuple[str, dict[str, Any]]]:
    def mapping(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
        values: dict[str, Any] = {"conversation_id": ctx.param(n8n, "conversationId", "")}
        if action == "conversation.update":
            values["metadata"] = _json_text(ctx.param(n8n, "metadata", ""))
        return action, values

    return mapping


def _audio_generate(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    opts = _options(ctx, n8n)
    return "audio.speech", {"model": ctx.param(n8n, "model", "tts-1"), "input": ctx.param(n8n, "input", ""),
                            "voice": ctx.param(n8n, "voice", "alloy"),
                            "response_format": opts.get("response_format"), "speed": opts.get("speed")}


def _audio_file(action: str) -> Callable[[Context, N8nNode], tuple[str, dict[str, Any]]]:
    def mapping(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
        opts = _options(ctx, n8n)
        values = {"file": "{{ input }}", "model": "whisper-1", "prompt": opts.get("prompt"),
                  "temperature": opts.get("temperature")}
        if action == "audio.transcribe":
            values["language"] = opts.get("language")
        return action, values

    return mapping


def _file_upload(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    return "file.upload", {"file": "{{ input }}", "purpose": _options(ctx, n8n).get("purpose", "assistants")}


def _file_list(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    return "file.list", {"purpose": _options(ctx, n8n).get("purpose")}


def _file_delete(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    return "file.delete", {"file_id": ctx.param(n8n, "fileId", "")}


def _assistant_values(ctx: Context, n8n: N8nNode, source: dict[str, Any]) -> dict[str, Any]:
    file_ids = source.get("file_ids")
    return {
        "name": source.get("name"), "description": source.get("description"),
        "instructions": source.get("instructions"),
        "code_interpreter": source.get("codeInterpreter"), "knowledge_retrieval": source.get("knowledgeRetrieval"),
        "file_ids": file_ids if file_ids not in ("", [], None) else None,
        "temperature": source.get("temperature"), "top_p": source.get("topP"),
    }


def _assistant_create(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    params = {k: ctx.param(n8n, k) for k in ("name", "description", "instructions", "codeInterpreter",
                                              "knowledgeRetrieval", "file_ids")}
    opts = _options(ctx, n8n)
    values = _assistant_values(ctx, n8n, {**params, **{k: opts.get(k) for k in ("temperature", "topP")}})
    values.update(model=_model(ctx, n8n), fail_if_exists=opts.get("failIfAssistantAlreadyExists"))
    return "assistant.create", values


def _assistant_update(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    opts = _options(ctx, n8n)
    values = _assistant_values(ctx, n8n, opts)
    values.update(assistant_id=ctx.param(n8n, "assistantId", ""), model=opts.get("modelId") or None,
                  remove_custom_tools=opts.get("removeCustomTools"))
    return "assistant.update", values


def _assistant_message(ctx: Context, n8n: N8nNode) -> tuple[str, dict[str, Any]]:
    opts = _options(ctx, n8n)
    values = {"assistant_id": ctx.param(n8n, "assistantId", ""), "prompt": _prompt_input(ctx, n8n)}
    if n8n.type_version >= 1.6 and n8n.param("memory", "connector") == "threadId":
        values["thread_id"] = ctx.param(n8n, "threadId", "") or None
    if n8n.type_version >= 1.3:
        values["preserve_original_tools"] = opts.get("preserveOriginalTools", True)
    return "assistant.message", values


OPERATIONS: dict[tuple[str, str], Callable[[Context, N8nNode], tuple[str, dict[str, Any]]]] = {
    ("text", "message"): _text_message,
    ("text", "response"): _text_response,
    ("text", "classify"): _text_classify,
    ("image", "analyze"): _image_analyze,
    ("image", "generate"): _image_generate,
    ("image", "edit"): _image_edit,
    ("video", "generate"): _video_generate,
    ("conversation", "create"): _conversation_create,
    ("conversation", "get"): _conversation("conversation.retrieve"),
    ("conversation", "update"): _conversation("conversation.update"),
    ("conversation", "remove"): _conversation("conversation.delete"),
    ("audio", "generate"): _audio_generate,
    ("audio", "transcribe"): _audio_file("audio.transcribe"),
    ("audio", "translate"): _audio_file("audio.translate"),
    ("file", "upload"): _file_upload,
    ("file", "list"): _file_list,
    ("file", "deleteFile"): _file_delete,
    ("assistant", "create"): _assistant_create,
    ("assistant", "deleteAssistant"): lambda ctx, n: ("assistant.delete", {"assistant_id": ctx.param(n, "assistantId", "")}),
    ("assistant", "list"): lambda ctx, n: ("assistant.list", {"simplify": bool(ctx.param(n, "simplify", True))}),
    ("assistant", "message"): _assistant_message,
    ("assistant", "update"): _assistant_update,
}
# Operations of one major version only: an assistant operation in a V2 node (V2 has no assistants)
# or a V2 operation in a V1 node becomes a placeholder.
V2_ONLY = {("text", "response"), ("image", "edit"), ("video", "generate"),
           *(("conversation", op) for op in ("create", "get", "update", "remove"))}
V1_ONLY = {("assistant", op) for op in ("create", "deleteAssistant", "list", "message", "update")}


def operation_of(n8n: N8nNode) -> tuple[str, str]:
    resource = n8n.param("resource", DEFAULT_RESOURCE)
    resource = resource if isinstance(resource, str) else DEFAULT_RESOURCE
    operation = n8n.param("operation", DEFAULT_OPERATION.get(resource, ""))
    return resource, operation if isinstance(operation, str) else ""


@maps(OPENAI)
def openai(n8n: N8nNode, ctx: Context) -> Mapped | None:
    key = operation_of(n8n)
    mapping = OPERATIONS.get(key)
    if mapping is None or (key in V2_ONLY and _major(n8n) < 2) or (key in V1_ONLY and _major(n8n) >= 2):
        return None
    action, values = mapping(ctx, n8n)
    return Mapped(ctx.make(n8n, action, values))
