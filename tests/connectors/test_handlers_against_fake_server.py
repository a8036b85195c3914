"""Every non-agent action handler against the fake OpenAI server through a real OpenAIClient:
what the node outputs, and what the server received (including the catalog defaults sent)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from connector_testkit import covers, run_action
from studio.connectors.openai.fake_server import tiny_png, tool_call
from studio.engine.context import NodeError

# The SDK marks every Assistants call deprecated; the handlers know.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:studio.connectors.openai.actions.assistants"),
              pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:studio.connectors.openai.actions.audio")]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def only(server, path, method="POST"):
    found = server.requests_to(path, method)
    assert len(found) == 1, f"expected one {method} {path}, got {found}"
    return found[0]


# --- chat ------------------------------------------------------------------------------------------


@covers("chat.create_completion")
async def test_chat_defaults_stream_deltas_and_send_the_documented_defaults(fake_server, client, tmp_path):
    output, events = await run_action("chat.create_completion", {}, tmp_path, client)
    sent = only(fake_server, "/chat/completions").json
    # the catalog's defaults: a system prompt and the node's input, gpt-4.1-mini (deliberately not the
    # documented World Series sample and gpt-3.5-turbo), temperature/top_p 1, n 1, streamed
    assert sent["model"] == "gpt-4.1-mini"
    assert sent["messages"] == [{"role": "system", "content": "You are a helpful assistant."},
                                {"role": "user", "content": ""}]  # `{{ input | string }}`: no input here
    assert sent["temperature"] == 1 and sent["top_p"] == 1 and sent["n"] == 1
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    content = output["choices"][0]["message"]["content"]
    assert content.startswith("Echo:")
    deltas = [e["text"] for e in events.of("delta")]
    assert deltas and "".join(deltas) == content
    assert output["usage"]["total_tokens"] == output["usage"]["prompt_tokens"] + output["usage"]["completion_tokens"]
    assert events.of("usage")[0]["usage"]["total_tokens"] == output["usage"]["total_tokens"]
    assert output["choices"][0]["finish_reason"] == "stop"


@covers("chat.create_completion")
async def test_chat_without_streaming_returns_n_choices(fake_server, client, tmp_path):
    output, events = await run_action("chat.create_completion", {
        "messages": [{"role": "user", "content": "count me"}], "stream": False, "n": 3, "model": "gpt-4o",
        "temperature": 0.2, "stop": "END, STOP", "max_tokens": 50}, tmp_path, client)
    sent = only(fake_server, "/chat/completions").json
    assert "stream" not in sent
    assert sent["n"] == 3 and sent["temperature"] == 0.2 and sent["stop"] == ["END", "STOP"] and sent["max_tokens"] == 50
    assert [c["message"]["content"] for c in output["choices"]] == ["Echo: count me"] * 3
    assert output["object"] == "chat.completion" and output["id"].startswith("chatcmpl-")
    assert events.of("delta") == []


@covers("chat.create_completion")
async def test_chat_reasoning_model_gets_max_completion_tokens(fake_server, client, tmp_path):
    await run_action("chat.create_completion", {"messages": "hi", "model": "o4-mini", "max_tokens": 20,
                                                "stream": False}, tmp_path, client)
    sent = only(fake_server, "/chat/completions").json
    assert sent["max_completion_tokens"] == 20 and "max_tokens" not in sent


@covers("chat.create_completion")
async def test_chat_json_output_simplified_is_parsed(fake_server, client, tmp_path):
    for stream in (False, True):
        fake_server.reset()
        output, _ = await run_action("chat.create_completion", {
            "messages": "give json", "json_output": True, "simplify": True, "stream": stream}, tmp_path, client)
        assert only(fake_server, "/chat/completions").json["response_format"] == {"type": "json_object"}
        assert output == {"echo": "give json"}


@covers("chat.create_completion")
async def test_chat_scripted_tool_calls_come_back_streamed_and_not(fake_server, client, tmp_path):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    for stream in (False, True):
        fake_server.script("chat", tool_call("get_weather", {"city": "Paris"}, call_id="call_1"))
        output, _ = await run_action("chat.create_completion", {
            "messages": "weather?", "tools": tools, "stream": stream}, tmp_path, client)
        choice = output["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        call = choice["message"]["tool_calls"][0]
        assert call["id"] == "call_1" and call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert all(r.json["tools"] == tools for r in fake_server.requests_to("/chat/completions"))


# --- responses -------------------------------------------------------------------------------------


@covers("responses.create")
async def test_response_streams_deltas_by_default(fake_server, client, tmp_path):
    output, events = await run_action("responses.create", {"input": "tell me a story",
                                                           "instructions": "Be brief."}, tmp_path, client)
    sent = only(fake_server, "/responses").json
    assert sent["model"] == "gpt-4.1" and sent["stream"] is True and sent["instructions"] == "Be brief."
    assert "store" not in sent  # unset: the API's own default applies
    assert output["output_text"] == "Echo: tell me a story"
    assert "".join(e["text"] for e in events.of("delta")) == output["output_text"]
    assert len(events.of("delta")) == 5  # one per word
    assert output["status"] == "completed" and output["id"].startswith("resp_")
    assert events.of("usage")[0]["usage"]["input_tokens"] == output["usage"]["input_tokens"]


@covers("responses.create")
async def test_response_without_stream_simplified_and_with_options(fake_server, client, tmp_path):
    output, events = await run_action("responses.create", {
        "input": "hello", "stream": False, "simplify": True, "store": False, "temperature": 0.5,
        "max_output_tokens": 64, "metadata": {"ticket": 42}}, tmp_path, client)
    sent = only(fake_server, "/responses").json
    assert sent["store"] is False and sent["temperature"] == 0.5 and sent["max_output_tokens"] == 64
    assert sent["metadata"] == {"ticket": "42"}
    assert output == "Echo: hello"
    assert events.of("delta") == []


@covers("responses.create")
async def test_response_scripted_function_call_and_structured_output(fake_server, client, tmp_path):
    fake_server.script("responses", tool_call("lookup", {"id": 7}, call_id="call_7"))
    output, _ = await run_action("responses.create", {"input": "find 7", "stream": False,
                                                      "tools": [{"type": "function", "name": "lookup",
                                                                 "parameters": {"type": "object"}, "strict": False}]},
                                 tmp_path, client)
    call = output["output"][0]
    assert call["type"] == "function_call" and call["name"] == "lookup" and call["call_id"] == "call_7"
    assert json.loads(call["arguments"]) == {"id": 7} and output["output_text"] == ""
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
              "required": ["city", "days"], "additionalProperties": False}
    output, _ = await run_action("responses.create", {"input": "Rome", "output_schema": schema,
                                                      "stream": True}, tmp_path, client)
    sent = fake_server.requests_to("/responses")[-1].json
    assert sent["text"]["format"]["type"] == "json_schema" and sent["text"]["format"]["schema"] == schema
    assert json.loads(output["output_text"]) == {"city": "Rome", "days": 0}


# --- images ----------------------------------------------------------------------------------------


@covers("image.generate")
async def test_image_generate_dalle3_downloads_the_url_into_an_artifact(fake_server, client, tmp_path):
    output, events = await run_action("image.generate", {"prompt": "a red fox"}, tmp_path, client)
    sent = only(fake_server, "/images/generations").json
    assert sent == {"prompt": "a red fox", "model": "dall-e-3", "n": 1, "size": "1024x1024"}
    image = output["images"][0]
    data = Path(image["path"]).read_bytes()
    assert data.startswith(PNG_MAGIC) and image["size"] == len(data) and image["media_type"] == "image/png"
    assert image["url"].startswith("http://127.0.0.1") and image["revised_prompt"] == "Revised: a red fox"


@covers("image.generate")
async def test_image_generate_b64_for_gpt_image_and_dalle2(fake_server, client, tmp_path):
    output, events = await run_action("image.generate", {"prompt": "a tree", "model": "gpt-image-1", "n": 2,
                                                         "quality": "high", "style": "vivid"}, tmp_path, client)
    sent = fake_server.requests_to("/images/generations")[-1].json
    assert "style" not in sent and sent["quality"] == "high" and sent["n"] == 2
    assert "style" in events.of("progress")[0]["message"]
    assert len(output["images"]) == 2
    for image in output["images"]:
        assert Path(image["path"]).read_bytes() == tiny_png()
    assert output["usage"]["total_tokens"] > 0
    output, _ = await run_action("image.generate", {"prompt": "a cat", "model": "dall-e-2",
                                                    "response_format": "b64_json"}, tmp_path, client)
    assert Path(output["images"][0]["path"]).read_bytes().startswith(PNG_MAGIC)


@covers("image.analyze")
async def test_image_analyze_sends_files_as_data_urls_with_n8n_defaults(fake_server, client, tmp_path):
    picture = tmp_path / "pic.png"
    picture.write_bytes(tiny_png())
    output, _ = await run_action("image.analyze", {"images": [str(picture), "https://example.com/a.jpg"]},
                                 tmp_path, client)
    sent = only(fake_server, "/chat/completions").json
    assert sent["model"] == "gpt-4o" and sent["max_tokens"] == 300
    parts = sent["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "What's in this image?"}
    assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    assert parts[2]["image_url"] == {"url": "https://example.com/a.jpg", "detail": "auto"}
    assert output["choices"][0]["message"]["content"] == "Echo: What's in this image?"


# --- audio -----------------------------------------------------------------------------------------


@covers("audio.speech")
async def test_speech_writes_an_audio_artifact(fake_server, client, tmp_path):
    output, _ = await run_action("audio.speech", {"input": "Hello there"}, tmp_path, client)
    sent = only(fake_server, "/audio/speech").json
    assert sent == {"model": "tts-1", "input": "Hello there", "voice": "alloy", "response_format": "mp3", "speed": 1.0}
    audio = output["audio"]
    assert audio["path"].endswith("speech.mp3") and audio["media_type"] == "audio/mpeg"
    data = Path(audio["path"]).read_bytes()
    assert data.startswith(b"ID3") and b"Hello there" in data
    output, _ = await run_action("audio.speech", {"input": "Hi", "response_format": "wav", "voice": "nova",
                                                  "file_name": "greeting"}, tmp_path, client)
    assert output["audio"]["path"].endswith("greeting.wav") and output["voice"] == "nova"
    assert Path(output["audio"]["path"]).read_bytes()[:4] == b"RIFF"


@pytest.fixture
def spoken(tmp_path):
    path = tmp_path / "note.mp3"
    path.write_bytes(b"please call me back tomorrow")
    return path


@covers("audio.transcribe")
async def test_transcribe_json_default_and_text_formats(fake_server, client, tmp_path, spoken):
    output, _ = await run_action("audio.transcribe", {"file": str(spoken), "language": "en"}, tmp_path, client)
    sent = only(fake_server, "/audio/transcriptions")
    assert sent.files == {"file": ("note.mp3", spoken.stat().st_size)}
    assert sent.form["model"] == "whisper-1" and sent.form["response_format"] == "json" and sent.form["language"] == "en"
    assert output["text"] == "please call me back tomorrow" and output["format"] == "json"
    for fmt, marker in (("text", None), ("srt", "-->"), ("vtt", "WEBVTT")):
        output, _ = await run_action("audio.transcribe", {"file": str(spoken), "response_format": fmt},
                                     tmp_path, client)
        assert output["format"] == fmt and "please call me back tomorrow" in output["text"]
        if marker:
            assert marker in output["text"]


@covers("audio.transcribe")
async def test_transcribe_verbose_json_with_word_timestamps(fake_server, client, tmp_path, spoken):
    output, _ = await run_action("audio.transcribe", {"file": str(spoken), "response_format": "verbose_json",
                                                      "timestamp_granularities": ["word"]}, tmp_path, client)
    sent = only(fake_server, "/audio/transcriptions")
    assert sent.form["timestamp_granularities[]"] == "word"
    assert output["task"] == "transcribe" and [w["word"] for w in output["words"]][:2] == ["please", "call"]


@covers("audio.translate")
async def test_translate_takes_an_upstream_artifact(fake_server, client, tmp_path, spoken):
    upstream = {"audio": {"artifact": True, "path": str(spoken), "media_type": "audio/mpeg", "size": 1}}
    output, _ = await run_action("audio.translate", {"file": upstream, "prompt": "names: Ann"}, tmp_path, client)
    sent = only(fake_server, "/audio/translations")
    assert sent.files["file"][0] == "note.mp3" and sent.form["prompt"] == "names: Ann"
    assert output["text"] == "please call me back tomorrow"
    output, _ = await run_action("audio.translate", {"file": str(spoken), "response_format": "verbose_json"},
                                 tmp_path, client)
    assert output["task"] == "translate"


# --- moderation and models -------------------------------------------------------------------------


@covers("moderation.classify")
async def test_moderation_flags_and_simplifies(fake_server, client, tmp_path):
    output, _ = await run_action("moderation.classify", {"input": "I will kill the process"}, tmp_path, client)
    assert only(fake_server, "/moderations").json == {"input": "I will kill the process",
                                                      "model": "omni-moderation-latest"}
    assert output["flagged"] is True and output["results"][0]["categories"]["violence"] is True
    output, _ = await run_action("moderation.classify", {"input": "a calm day", "simplify": True,
                                                         "use_stable_model": True}, tmp_path, client)
    assert fake_server.requests_to("/moderations")[-1].json["model"] == "text-moderation-stable"
    assert output["flagged"] is False and "category_scores" in output


@covers("model.list", "model.get")
async def test_models_list_and_get(fake_server, client, tmp_path):
    output, _ = await run_action("model.list", {}, tmp_path, client)
    assert "gpt-4o" in output["ids"] and len(output["ids"]) == len(output["data"])
    output, _ = await run_action("model.get", {"model": "whisper-1"}, tmp_path, client)
    assert output["id"] == "whisper-1" and output["object"] == "model"
    assert only(fake_server, "/models/whisper-1", "GET")
    with pytest.raises(NodeError) as failure:
        await run_action("model.get", {"model": "gpt-nope"}, tmp_path, client, name="Get Model")
    assert str(failure.value).startswith("Get Model: not found (404)") and "gpt-nope" in str(failure.value)
    assert failure.value.retryable is False


# --- files -----------------------------------------------------------------------------------------


@covers("file.upload", "file.list", "file.retrieve", "file.delete")
async def test_files_upload_list_retrieve_delete(fake_server, client, tmp_path):
    source = tmp_path / "train.jsonl"
    source.write_text('{"prompt": "a"}\n', encoding="utf-8")
    uploaded, _ = await run_action("file.upload", {"file": str(source)}, tmp_path, client)
    sent = only(fake_server, "/files")
    assert sent.form == {"purpose": "assistants"} and sent.files == {"file": ("train.jsonl", source.stat().st_size)}
    assert uploaded["filename"] == "train.jsonl" and uploaded["bytes"] == source.stat().st_size
    renamed, _ = await run_action("file.upload", {"file": str(source), "filename": "data.jsonl",
                                                  "purpose": "fine-tune"}, tmp_path, client)
    assert renamed["filename"] == "data.jsonl" and renamed["purpose"] == "fine-tune"

    listed, _ = await run_action("file.list", {"purpose": "fine-tune"}, tmp_path, client)
    assert [f["id"] for f in listed["data"]] == [renamed["id"]]
    assert fake_server.requests_to("/files", "GET")[-1].query == {"purpose": "fine-tune"}
    listed, _ = await run_action("file.list", {}, tmp_path, client)
    assert {f["id"] for f in listed["data"]} == {uploaded["id"], renamed["id"]}

    got, _ = await run_action("file.retrieve", {"file_id": uploaded["id"]}, tmp_path, client)
    assert got == uploaded
    deleted, _ = await run_action("file.delete", {"file_id": uploaded["id"]}, tmp_path, client)
    assert deleted == {"id": uploaded["id"], "object": "file", "deleted": True}
    with pytest.raises(NodeError, match="not found"):
        await run_action("file.retrieve", {"file_id": uploaded["id"]}, tmp_path, client)


# --- assistants, threads, messages, runs -----------------------------------------------------------


@covers("assistant.create", "assistant.list", "assistant.retrieve", "assistant.delete")
async def test_assistant_create_list_retrieve_delete(fake_server, client, tmp_path):
    created, _ = await run_action("assistant.create", {
        "model": "gpt-4o", "name": "Helper", "instructions": "Help.", "code_interpreter": True,
        "file_ids": ["file-a", "file-b"], "metadata": {"team": "ops"}}, tmp_path, client)
    sent = only(fake_server, "/assistants").json
    assert sent["tools"] == [{"type": "code_interpreter"}]
    assert sent["tool_resources"] == {"code_interpreter": {"file_ids": ["file-a", "file-b"]}}
    assert sent["metadata"] == {"team": "ops"} and sent["temperature"] == 1.0 and sent["top_p"] == 1.0
    assert fake_server.requests_to("/assistants")[0].headers["openai-beta"] == "assistants=v2"
    assert created["name"] == "Helper" and created["id"].startswith("asst_")

    with pytest.raises(NodeError, match="already exists"):
        await run_action("assistant.create", {"model": "gpt-4o", "name": "Helper", "fail_if_exists": True},
                         tmp_path, client)

    listed, _ = await run_action("assistant.list", {}, tmp_path, client)
    assert listed == [{"id": created["id"], "name": "Helper", "model": "gpt-4o"}]
    full, _ = await run_action("assistant.list", {"simplify": False}, tmp_path, client)
    assert full["data"][0]["instructions"] == "Help."

    got, _ = await run_action("assistant.retrieve", {"assistant_id": created["id"]}, tmp_path, client)
    assert got["tools"] == [{"type": "code_interpreter"}]
    deleted, _ = await run_action("assistant.delete", {"assistant_id": created["id"]}, tmp_path, client)
    assert deleted["deleted"] is True
    listed, _ = await run_action("assistant.list", {}, tmp_path, client)
    assert listed == []


@covers("assistant.update")
async def test_assistant_update_keeps_tools_it_was_not_told_to_change(fake_server, client, tmp_path):
    created, _ = await run_action("assistant.create", {"model": "gpt-4o", "name": "Old", "code_interpreter": True},
                                  tmp_path, client)
    # Only the name changes: the switches left at their defaults must not strip the code interpreter.
    updated, _ = await run_action("assistant.update", {"assistant_id": created["id"], "name": "New"},
                                  tmp_path, client)
    assert updated["name"] == "New" and updated["tools"] == [{"type": "code_interpreter"}]
    # Switching file search on adds it next to the existing tool.
    updated, _ = await run_action("assistant.update", {"assistant_id": created["id"], "knowledge_retrieval": True},
                                  tmp_path, client)
    assert {t["type"] for t in updated["tools"]} == {"code_interpreter", "file_search"}
    # Switching the code interpreter off explicitly removes it.
    updated, _ = await run_action("assistant.update", {"assistant_id": created["id"], "code_interpreter": False},
                                  tmp_path, client)
    assert [t["type"] for t in updated["tools"]] == ["file_search"]


@covers("assistant.message", "run_step.list")
async def test_message_an_assistant_polls_the_run_and_lists_its_steps(fake_server, client, tmp_path):
    assistant, _ = await run_action("assistant.create", {"model": "gpt-4o", "name": "Echoer"}, tmp_path, client)
    output, events = await run_action("assistant.message", {"assistant_id": assistant["id"],
                                                            "prompt": "What is up?", "poll_interval_ms": 50},
                                      tmp_path, client)
    assert output["output"] == "Echo: What is up?" and output["status"] == "completed"
    assert output["usage"]["total_tokens"] > 0
    assert len(fake_server.requests_to(f"/threads/{output['thread_id']}/runs/{output['run_id']}", "GET")) >= 2
    assert any("completed" in e["message"] for e in events.of("progress"))

    again, _ = await run_action("assistant.message", {"assistant_id": assistant["id"], "thread_id": output["thread_id"],
                                                      "prompt": "And now?", "poll_interval_ms": 50,
                                                      "preserve_original_tools": False}, tmp_path, client)
    assert again["thread_id"] == output["thread_id"] and again["output"] == "Echo: And now?"
    assert fake_server.requests_to(f"/threads/{output['thread_id']}/runs")[-1].json["tools"] == []

    steps, _ = await run_action("run_step.list", {"thread_id": output["thread_id"], "run_id": output["run_id"],
                                                  "limit": 10, "order": "asc"}, tmp_path, client)
    assert steps["data"][0]["type"] == "message_creation" and steps["has_more"] is False
    assert fake_server.requests_to("/threads/*", "GET")[-1].query == {"limit": "10", "order": "asc"}


@covers("thread.create", "thread.retrieve", "thread.modify", "message.create")
async def test_threads_and_messages(fake_server, client, tmp_path):
    thread, _ = await run_action("thread.create", {"messages": [{"role": "user", "content": "first"}],
                                                   "metadata": {"customer": "c1"}}, tmp_path, client)
    assert thread["object"] == "thread" and thread["metadata"] == {"customer": "c1"}
    assert fake_server.messages[thread["id"]][0]["content"][0]["text"]["value"] == "first"
    got, _ = await run_action("thread.retrieve", {"thread_id": thread["id"]}, tmp_path, client)
    assert got == thread
    modified, _ = await run_action("thread.modify", {"thread_id": thread["id"], "metadata": {"customer": "c2"}},
                                   tmp_path, client)
    assert modified["metadata"] == {"customer": "c2"}
    message, _ = await run_action("message.create", {"thread_id": thread["id"], "content": "second"},
                                  tmp_path, client)
    assert message["role"] == "user" and message["content"][0]["text"]["value"] == "second"
    assert only(fake_server, f"/threads/{thread['id']}/messages").json == {"role": "user", "content": "second"}
    with pytest.raises(NodeError, match="not found"):
        await run_action("thread.retrieve", {"thread_id": "thread_missing"}, tmp_path, client)


@covers("fine_tuning.list_jobs")
async def test_fine_tuning_jobs_list(fake_server, client, tmp_path):
    output, _ = await run_action("fine_tuning.list_jobs", {"limit": 2}, tmp_path, client)
    assert [job["object"] for job in output["data"]] == ["fine_tuning.job"] * 2
    assert output["has_more"] is True
    assert only(fake_server, "/fine_tuning/jobs", "GET").query == {"limit": "2"}


@covers("assistant.message")
async def test_cancelling_message_an_assistant_cancels_the_run_on_the_server(fake_server, client, tmp_path):
    import asyncio

    assistant, _ = await run_action("assistant.create", {"model": "gpt-4o"}, tmp_path, client)
    task = asyncio.create_task(run_action("assistant.message", {"assistant_id": assistant["id"], "prompt": "slow",
                                                                "poll_interval_ms": 60_000}, tmp_path, client))
    for _ in range(500):
        if fake_server.runs:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (run,) = fake_server.runs.values()
    assert run["status"] == "cancelled"
    assert len(fake_server.requests_to(f"/threads/{run['thread_id']}/runs/{run['id']}/cancel")) == 1
