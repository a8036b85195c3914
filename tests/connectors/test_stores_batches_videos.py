"""Vector stores, Run Batch and Videos against the fake server: each waits with progress, and
requests and answers are checked against OpenAI's schema."""

from __future__ import annotations

import json

import httpx
import pytest

from connector_testkit import covers, run_action
from studio.engine.context import NodeError

FAST = {"poll_interval_ms": 20}


def upload(server, name: str, text: str) -> str:
    response = httpx.post(server.base_url + "/files", headers={"Authorization": "Bearer sk-test"}, timeout=10,
                          files={"file": (name, text.encode())}, data={"purpose": "assistants"})
    return response.json()["id"]


@covers("vector_store.create", "vector_store.retrieve", "vector_store.update", "vector_store.list",
        "vector_store.search", "vector_store.delete")
async def test_a_vector_store_is_created_with_files_searched_and_deleted(fake_server, client, tmp_path):
    refund = upload(fake_server, "refunds.txt", "Refunds are paid within 14 days.")
    other = upload(fake_server, "shipping.txt", "Parcels ship on Mondays.")
    store, events = await run_action("vector_store.create", {"name": "policies", "file_ids": [refund, other],
                                                             "expires_after_days": 7, **FAST}, tmp_path, client)
    sent = fake_server.requests_to("/vector_stores", "POST")[0].json
    assert sent == {"name": "policies", "file_ids": [refund, other],
                    "expires_after": {"anchor": "last_active_at", "days": 7}}
    assert store["status"] == "completed" and store["file_counts"]["completed"] == 2
    assert events.of("progress")[-1]["message"].endswith("2/2 files processed")
    found, _ = await run_action("vector_store.search", {"vector_store_id": store["id"], "query": "refunds paid"},
                                tmp_path, client)
    assert found["results"][0]["file_id"] == refund and found["text"].startswith("Refunds are paid")
    updated, _ = await run_action("vector_store.update", {"vector_store_id": store["id"], "name": "renamed"},
                                  tmp_path, client)
    assert updated["name"] == "renamed"
    got, _ = await run_action("vector_store.retrieve", {"vector_store_id": store["id"]}, tmp_path, client)
    assert got["name"] == "renamed"
    listed, _ = await run_action("vector_store.list", {}, tmp_path, client)
    assert [s["id"] for s in listed["data"]] == [store["id"]]
    deleted, _ = await run_action("vector_store.delete", {"vector_store_id": store["id"]}, tmp_path, client)
    assert deleted["deleted"] is True
    with pytest.raises(NodeError, match="nothing to change"):
        await run_action("vector_store.update", {"vector_store_id": store["id"]}, tmp_path, client)


@covers("vector_store.add_file", "vector_store.remove_file", "vector_store.add_file_batch")
async def test_files_and_file_batches_are_added_until_processed_and_removed(fake_server, client, tmp_path):
    store, _ = await run_action("vector_store.create", {"name": "s"}, tmp_path, client)
    one = upload(fake_server, "one.txt", "alpha")
    added, events = await run_action("vector_store.add_file", {"vector_store_id": store["id"], "file_id": one,
                                                               "attributes": {"lang": "en"}, **FAST}, tmp_path, client)
    assert added["status"] == "completed" and added["attributes"] == {"lang": "en"}
    assert [e["status"] for e in events.of("progress")] == ["in_progress", "completed"]
    ids = [upload(fake_server, f"f{i}.txt", f"text {i}") for i in range(3)]
    batch, events = await run_action("vector_store.add_file_batch", {"vector_store_id": store["id"], "file_ids": ids,
                                                                     **FAST}, tmp_path, client)
    assert batch["status"] == "completed" and batch["file_counts"] == {"in_progress": 0, "completed": 3,
                                                                        "failed": 0, "cancelled": 0, "total": 3}
    assert events.of("progress")[0]["message"].endswith("0/3 files processed")
    removed, _ = await run_action("vector_store.remove_file", {"vector_store_id": store["id"], "file_id": one},
                                  tmp_path, client)
    assert removed == {"id": one, "object": "vector_store.file.deleted", "deleted": True}
    with pytest.raises(NodeError, match="No file found"):
        await run_action("vector_store.add_file", {"vector_store_id": store["id"], "file_id": "file-nope"},
                         tmp_path, client)


@covers("vector_store.add_file_batch")
async def test_a_file_batch_past_its_limit_is_cancelled(fake_server, client, tmp_path):
    store, _ = await run_action("vector_store.create", {"name": "s"}, tmp_path, client)
    ids = [upload(fake_server, "a.txt", "a")]
    with pytest.raises(NodeError, match="did not finish"):
        await run_action("vector_store.add_file_batch", {"vector_store_id": store["id"], "file_ids": ids,
                                                         "poll_interval_ms": 200, "max_wait_s": 0.05}, tmp_path, client)
    assert fake_server.requests_to(f"/vector_stores/{store['id']}/file_batches/*", "POST")[0].api_path.endswith(
        "/cancel")


@covers("batch.run", "batch.retrieve", "batch.results")
async def test_a_batch_of_items_comes_back_mapped_to_its_items(fake_server, client, tmp_path):
    items = ["first question", {"prompt": "second question"}, {"text": "third"}]
    output, events = await run_action("batch.run", {"items": items, "instructions": "Be brief.", **FAST},
                                      tmp_path, client)
    upload_form = fake_server.requests_to("/files")[0]
    assert upload_form.form == {"purpose": "batch"}
    lines = [json.loads(line) for line in open(output["input_file"]["path"], encoding="utf-8")]
    assert lines[0] == {"custom_id": "item-0", "method": "POST", "url": "/v1/responses",
                        "body": {"model": "gpt-4.1-mini", "input": "first question", "instructions": "Be brief."}}
    assert fake_server.requests_to("/files")[0].file_bytes["file"] == open(output["input_file"]["path"], "rb").read()
    assert fake_server.requests_to("/batches")[0].json == {"input_file_id": upload_form.answer["id"],
                                                           "endpoint": "/v1/responses", "completion_window": "24h"}
    assert [r["output_text"] for r in output["results"]] == ["Echo: first question", "Echo: second question",
                                                             "Echo: third"]
    assert [r["item"] for r in output["results"]] == items
    assert [e["status"] for e in events.of("progress")] == ["validating", "in_progress", "finalizing", "completed"]
    assert events.of("progress")[-1]["message"].endswith("3/3 requests done")
    again, _ = await run_action("batch.results", {"batch_id": output["batch"]["id"]}, tmp_path, client)
    assert [r["output_text"] for r in again["results"]] == [r["output_text"] for r in output["results"]]
    got, _ = await run_action("batch.retrieve", {"batch_id": output["batch"]["id"]}, tmp_path, client)
    assert got["status"] == "completed" and got["output_file_id"]


@covers("batch.run", "batch.cancel", "batch.results")
async def test_a_chat_batch_started_without_waiting_can_be_cancelled(fake_server, client, tmp_path):
    output, _ = await run_action("batch.run", {"items": '["a", "b"]', "endpoint": "/v1/chat/completions",
                                               "wait": False}, tmp_path, client)
    first = json.loads(open(output["input_file"]["path"], encoding="utf-8").readline())
    assert first["url"] == "/v1/chat/completions" and first["body"]["messages"] == [{"role": "user", "content": "a"}]
    assert output["batch"]["status"] == "validating" and "results" not in output
    with pytest.raises(NodeError, match="no results yet"):
        await run_action("batch.results", {"batch_id": output["batch"]["id"]}, tmp_path, client)
    cancelled, _ = await run_action("batch.cancel", {"batch_id": output["batch"]["id"]}, tmp_path, client)
    assert cancelled["status"] == "cancelling"
    with pytest.raises(NodeError, match="'Items' must be a non-empty list"):
        await run_action("batch.run", {"items": []}, tmp_path, client)


@pytest.mark.filterwarnings("ignore:The Sora API is scheduled:DeprecationWarning")  # the catalog says so too
@covers("video.create", "video.retrieve", "video.list", "video.download", "video.remix", "video.delete")
async def test_a_video_is_generated_with_progress_saved_remixed_and_deleted(fake_server, client, tmp_path):
    output, events = await run_action("video.create", {"prompt": "a cat on a skateboard", "seconds": "8",
                                                       "size": "1280x720", **FAST}, tmp_path, client)
    sent = fake_server.requests_to("/videos")[0]
    assert sent.form == {"prompt": "a cat on a skateboard", "model": "sora-2", "seconds": "8", "size": "1280x720"}
    assert [e["message"].split(" ", 2)[2] for e in events.of("progress")] == [
        "queued (0%)", "in_progress (50%)", "completed (100%)"]
    video = output["video"]
    assert video["status"] == "completed" and output["file"]["media_type"] == "video/mp4"
    assert open(output["file"]["path"], "rb").read()[4:8] == b"ftyp"
    thumb, _ = await run_action("video.download", {"video_id": video["id"], "variant": "thumbnail"}, tmp_path, client)
    assert fake_server.requests_to(f"/videos/{video['id']}/content")[-1].query == {"variant": "thumbnail"}
    assert open(thumb["file"]["path"], "rb").read(4) == b"RIFF"
    remix, _ = await run_action("video.remix", {"video_id": video["id"], "prompt": "make it night", "wait": False},
                                tmp_path, client)
    assert remix["video"]["remixed_from_video_id"] == video["id"] and "file" not in remix
    got, _ = await run_action("video.retrieve", {"video_id": remix["video"]["id"]}, tmp_path, client)
    assert got["progress"] == 50
    listed, _ = await run_action("video.list", {"order": "asc"}, tmp_path, client)
    assert [v["id"] for v in listed["data"]] == [video["id"], remix["video"]["id"]]
    deleted, _ = await run_action("video.delete", {"video_id": video["id"]}, tmp_path, client)
    assert deleted["deleted"] is True
    with pytest.raises(NodeError, match="not found"):
        await run_action("video.retrieve", {"video_id": video["id"]}, tmp_path, client)
