"""Conversations and image edits/variations against the fake server (requests and answers checked
against OpenAI's schema)."""

from __future__ import annotations

import pytest

from connector_testkit import covers, run_action
from studio.connectors.openai.fake_server import tiny_png
from studio.engine.context import NodeError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@covers("conversation.create", "conversation.retrieve", "conversation.update", "conversation.add_items",
        "conversation.list_items", "conversation.delete")
async def test_a_conversation_from_creation_to_deletion(fake_server, client, tmp_path):
    created, _ = await run_action("conversation.create", {
        "items": '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]',
        "metadata": [{"key": "topic", "value": "demo"}]}, tmp_path, client)
    sent = fake_server.requests_to("/conversations", "POST")[0].json
    assert sent["items"] == [{"type": "message", "role": "system", "content": "Be brief."},
                             {"type": "message", "role": "user", "content": "Hi"}]
    assert created["metadata"] == {"topic": "demo"} and created["id"].startswith("conv_")
    conv = created["id"]
    got, _ = await run_action("conversation.retrieve", {"conversation_id": conv}, tmp_path, client)
    assert got == created
    updated, _ = await run_action("conversation.update", {"conversation_id": conv,
                                                          "metadata": {"topic": "changed"}}, tmp_path, client)
    assert updated["metadata"] == {"topic": "changed"}
    added, _ = await run_action("conversation.add_items", {"conversation_id": conv, "items": "And bye"},
                                tmp_path, client)
    assert [i["content"][0]["text"] for i in added["data"]] == ["And bye"]
    listed, _ = await run_action("conversation.list_items", {"conversation_id": conv}, tmp_path, client)
    assert fake_server.requests_to(f"/conversations/{conv}/items", "GET")[0].query == {"order": "asc", "limit": "20"}
    assert listed["text"].splitlines() == ["system: Be brief.", "user: Hi", "user: And bye"]
    deleted, _ = await run_action("conversation.delete", {"conversation_id": conv}, tmp_path, client)
    assert deleted == {"id": conv, "object": "conversation.deleted", "deleted": True}
    with pytest.raises(NodeError, match="not found"):
        await run_action("conversation.retrieve", {"conversation_id": conv}, tmp_path, client)


@covers("conversation.add_items", "conversation.create")
async def test_conversation_items_are_checked_before_sending(fake_server, client, tmp_path):
    with pytest.raises(NodeError, match="at most 20"):
        await run_action("conversation.add_items", {"conversation_id": "conv_1", "items": [{"role": "user",
                                                    "content": str(i)} for i in range(21)]}, tmp_path, client)
    with pytest.raises(NodeError, match="looks like JSON but is not valid"):
        await run_action("conversation.create", {"items": "[{oops"}, tmp_path, client)
    assert fake_server.requests == []


@covers("image.edit")
async def test_edit_sends_several_images_and_a_mask_and_saves_the_result(fake_server, client, tmp_path):
    for name in ("a.png", "b.png", "mask.png"):
        (tmp_path / name).write_bytes(tiny_png())
    output, _ = await run_action("image.edit", {
        "images": [str(tmp_path / "a.png"), str(tmp_path / "b.png")], "mask": str(tmp_path / "mask.png"),
        "prompt": "put them on a beach", "quality": "high", "background": "transparent", "output_format": "webp",
        "output_compression": 80, "size": "1536x1024"}, tmp_path, client)
    sent = fake_server.requests_to("/images/edits")[0]
    assert [u[0] for u in sent.uploads] == ["image[]", "image[]", "mask"]
    assert sent.form["prompt"] == "put them on a beach" and sent.form["model"] == "gpt-image-1"
    assert (sent.form["quality"], sent.form["background"], sent.form["output_format"],
            sent.form["output_compression"]) == ("high", "transparent", "webp", "80")
    assert output["output_format"] == "webp" and output["size"] == "1536x1024"
    saved = output["images"][0]
    assert saved["media_type"] == "image/webp" and open(saved["path"], "rb").read(4) == b"RIFF"


@covers("image.edit")
async def test_dall_e_2_edits_one_image_and_leaves_gpt_image_options_out(fake_server, client, tmp_path):
    (tmp_path / "a.png").write_bytes(tiny_png())
    output, events = await run_action("image.edit", {"images": str(tmp_path / "a.png"), "prompt": "sky",
                                                     "model": "dall-e-2", "background": "opaque"}, tmp_path, client)
    sent = fake_server.requests_to("/images/edits")[0]
    assert [u[0] for u in sent.uploads] == ["image"] and "background" not in sent.form
    assert sent.form["response_format"] == "b64_json"
    assert "background" in events.of("progress")[0]["message"]
    assert open(output["images"][0]["path"], "rb").read(8) == PNG_MAGIC
    with pytest.raises(NodeError, match="several 'Images' need gpt-image-1"):
        await run_action("image.edit", {"images": [str(tmp_path / "a.png")] * 2, "prompt": "x", "model": "dall-e-2"},
                         tmp_path, client)


@covers("image.variation")
@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks variations deprecated too
async def test_variation_of_one_image(fake_server, client, tmp_path):
    (tmp_path / "a.png").write_bytes(tiny_png())
    output, _ = await run_action("image.variation", {"images": str(tmp_path / "a.png"), "n": 2, "size": "256x256"},
                                 tmp_path, client)
    sent = fake_server.requests_to("/images/variations")[0]
    assert sent.form == {"model": "dall-e-2", "n": "2", "size": "256x256", "response_format": "b64_json"}
    assert len(output["images"]) == 2
    with pytest.raises(NodeError, match="'Images' is required"):
        await run_action("image.variation", {"images": ""}, tmp_path, client)


def test_image_edit_and_analyze_read_their_images_input_by_one_rule():
    from studio.connectors.openai.actions._common import file_items

    artifact = {"artifact": True, "path": "/x/a.png", "media_type": "image/png", "size": 3}
    assert file_items(["a.png", artifact]) == ["a.png", artifact]
    assert file_items("a.png, b.png\nc.png") == ["a.png", "b.png", "c.png"]
    assert file_items('["a.png", "https://x/y.png"]') == ["a.png", "https://x/y.png"]
    assert file_items({"images": [artifact], "revised_prompt": "x"}) == [artifact]  # an upstream image node's output
    assert file_items({"artifacts": [artifact]}) == [artifact]
    assert file_items(artifact) == [artifact]
    assert file_items(None) == [] and file_items("") == [] and file_items(7) == []
