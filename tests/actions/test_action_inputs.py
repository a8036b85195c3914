"""How handlers turn node inputs into request parameters, and the input mistakes they refuse
before any call is made (these never spend the node's retries)."""

from __future__ import annotations

import base64

import pytest

from studio.connectors.openai.actions._common import InputError, key_values, load_file, string_list
from studio.connectors.openai.actions.chat import chat_messages, completion_params
from studio.connectors.openai.actions.images import image_params, image_sources
from studio.connectors.openai.actions.raw import request_body, request_path

from action_testkit import make_context
from openai_schema import assert_valid


def ctx_for(action_id, tmp_path, **inputs):
    return make_context(action_id, inputs, tmp_path)[0]


def test_messages_accept_a_list_json_text_or_a_plain_prompt(tmp_path):
    listed = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert chat_messages(ctx_for("chat.create_completion", tmp_path, messages=listed)) == listed
    as_json = '[{"role": "user", "content": "Hello"}]'
    assert chat_messages(ctx_for("chat.create_completion", tmp_path, messages=as_json)) == [
        {"role": "user", "content": "Hello"}]
    assert chat_messages(ctx_for("chat.create_completion", tmp_path, messages="Just text")) == [
        {"role": "user", "content": "Just text"}]
    assert chat_messages(ctx_for("chat.create_completion", tmp_path, prompt="From prompt")) == [
        {"role": "user", "content": "From prompt"}]


def test_a_message_with_an_unknown_role_is_named(tmp_path):
    ctx = ctx_for("chat.create_completion", tmp_path, messages=[{"role": "robot", "content": "x"}])
    with pytest.raises(InputError, match=r"Node: message 1 has role 'robot'") as caught:
        chat_messages(ctx)
    assert caught.value.retryable is False


def test_no_messages_at_all_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="'Messages' is required"):
        chat_messages(ctx_for("chat.create_completion", tmp_path))


def test_completion_params_carry_every_option_and_fit_openai_schema(tmp_path):
    ctx = ctx_for(
        "chat.create_completion", tmp_path, model="gpt-4o-mini", temperature=0.2, top_p=0.9, n=2,
        frequency_penalty=0.5, presence_penalty=-0.5, logit_bias={"50256": -100}, stop="END, STOP",
        max_tokens=64, user="u-1", json_output=True,
    )
    params = completion_params(ctx, [{"role": "user", "content": "Give JSON"}])
    assert params["logit_bias"] == {"50256": -100}
    assert params["stop"] == ["END", "STOP"]
    assert params["max_tokens"] == 64
    assert params["response_format"] == {"type": "json_object"}
    assert params["n"] == 2 and params["user"] == "u-1"
    assert_valid("POST /chat/completions", params)


def test_reasoning_models_get_max_completion_tokens(tmp_path):
    params = completion_params(ctx_for("chat.create_completion", tmp_path, model="o3-mini", max_tokens=10),
                               [{"role": "user", "content": "x"}])
    assert "max_tokens" not in params and params["max_completion_tokens"] == 10


def test_more_than_four_stop_sequences_are_refused(tmp_path):
    with pytest.raises(InputError, match="at most 4"):
        completion_params(ctx_for("chat.create_completion", tmp_path, stop=["a", "b", "c", "d", "e"]), [])


@pytest.mark.parametrize("model,kept,dropped", [
    ("dall-e-2", {"response_format", "size"}, {"style", "background", "output_format"}),
    ("dall-e-3", {"response_format", "style", "quality"}, {"background", "output_format"}),
    ("gpt-image-1", {"background", "output_format", "quality"}, {"response_format", "style"}),
])
def test_image_parameters_follow_the_model(tmp_path, model, kept, dropped):
    quality = "hd" if model == "dall-e-3" else ("high" if model == "gpt-image-1" else "standard")
    ctx = ctx_for("image.generate", tmp_path, prompt="a cat", model=model, n=1, size="1024x1024",
                  quality=quality, style="vivid", response_format="b64_json", background="transparent",
                  output_format="png")
    params, ignored = image_params(ctx)
    assert kept <= set(params)
    assert not dropped & set(params)
    assert dropped <= set(ignored)
    assert_valid("POST /images/generations", params)


def test_dall_e_3_makes_one_image_per_request(tmp_path):
    with pytest.raises(InputError, match="dall-e-3 makes one image"):
        image_params(ctx_for("image.generate", tmp_path, prompt="x", model="dall-e-3", n=2))


def test_image_sources_send_files_and_artifacts_as_data_urls(tmp_path):
    picture = tmp_path / "pic.png"
    picture.write_bytes(b"\x89PNG fake")
    artifact = {"artifact": True, "path": str(picture), "media_type": "image/png", "size": 9}
    ctx = ctx_for("image.analyze", tmp_path, images=["https://example.com/a.jpg", str(picture), artifact])
    urls = image_sources(ctx)
    assert urls[0] == "https://example.com/a.jpg"
    expected = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()
    assert urls[1] == expected and urls[2] == expected


def test_comma_separated_image_urls(tmp_path):
    ctx = ctx_for("image.analyze", tmp_path, images="https://a/1.png, https://a/2.png")
    assert image_sources(ctx) == ["https://a/1.png", "https://a/2.png"]


def test_load_file_finds_the_artifact_inside_an_upstream_output(tmp_path):
    audio = tmp_path / "speech.mp3"
    audio.write_bytes(b"ID3")
    output = {"audio": {"artifact": True, "path": str(audio), "media_type": "audio/mpeg", "size": 3}}
    loaded = load_file(ctx_for("audio.transcribe", tmp_path, file=output), "file")
    assert (loaded.name, loaded.data, loaded.media_type) == ("speech.mp3", b"ID3", "audio/mpeg")


def test_relative_paths_are_looked_up_next_to_the_flow_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.jsonl").write_text("{}\n")
    ctx, _ = make_context("file.upload", {"file": "data/notes.jsonl"}, tmp_path, services={"flow_dir": str(tmp_path)})
    assert load_file(ctx, "file").data == b"{}\n"


def test_a_missing_file_is_named(tmp_path):
    ctx = ctx_for("file.upload", tmp_path, file=str(tmp_path / "nope.txt"))
    with pytest.raises(InputError, match="file not found: .*nope.txt"):
        load_file(ctx, "file")


def test_list_and_key_value_inputs_take_every_shape():
    assert string_list("a, b\nc") == ["a", "b", "c"]
    assert string_list('["x", "y"]') == ["x", "y"]
    assert string_list(None) == []
    assert key_values([{"key": "a", "value": 1}, {"key": "b", "value": "2"}]) == {"a": 1, "b": "2"}
    assert key_values('{"k": "v"}') == {"k": "v"}


@pytest.mark.parametrize("url", ["https://evil.example/v1/models", "//evil.example/x", "/v1/../../etc", "/v1/%2e%2e/x"])
def test_raw_request_refuses_urls_that_leave_the_base_url(tmp_path, url):
    with pytest.raises(InputError, match="URL"):
        request_path(ctx_for("raw.request", tmp_path, url=url))


def test_raw_request_body_is_json_or_multipart_not_both(tmp_path):
    ctx = ctx_for("raw.request", tmp_path, data='{"a": 1}')
    assert request_body(ctx) == {"json": {"a": 1}}
    ctx = ctx_for("raw.request", tmp_path, data='{"a": 1}', form_data={"purpose": "batch"})
    with pytest.raises(InputError, match="either 'Data' or"):
        request_body(ctx)


def test_raw_request_file_names_must_match_file_data_keys(tmp_path):
    ctx = ctx_for("raw.request", tmp_path, file_data={"file": "hello"}, file_data_file_names={"other": "x.txt"})
    with pytest.raises(InputError, match="other"):
        request_body(ctx)
    ctx = ctx_for("raw.request", tmp_path, file_data={"file": "hello"}, file_data_file_names={"file": "x.txt"},
                  form_data={"purpose": "batch"})
    body = request_body(ctx)
    assert body["form"] == {"purpose": "batch"}
    assert body["files"]["file"] == ("x.txt", b"hello", "application/octet-stream")
