"""Evals (create an eval, run it over a flow test's cases, fetch the result) and Upload Large File
(multipart upload) against the fake server, checked against OpenAI's schema."""

from __future__ import annotations

import hashlib

import pytest

from connector_testkit import covers, run_action
from studio.engine.context import NodeError

CASES = [{"input": "2+2", "expected": "2+2"}, {"input": "capital of France", "expected": "Paris"}]


@covers("eval.create", "eval.run", "eval.get_run")
async def test_an_eval_runs_over_cases_and_reports_each_grade(fake_server, client, tmp_path):
    created, _ = await run_action("eval.create", {"name": "arith"}, tmp_path, client)
    sent = fake_server.requests_to("/evals")[0].json
    assert sent["testing_criteria"] == [{"type": "string_check", "name": "contains", "input": "{{sample.output_text}}",
                                         "reference": "{{item.expected}}", "operation": "like"}]
    assert sent["data_source_config"]["item_schema"]["required"] == ["input", "expected"]
    result, events = await run_action("eval.run", {"eval_id": created["id"], "cases": CASES,
                                                   "instructions": "Answer.", "poll_interval_ms": 20},
                                      tmp_path, client)
    run_body = fake_server.requests_to(f"/evals/{created['id']}/runs")[0].json
    assert run_body["data_source"]["input_messages"]["template"] == [
        {"type": "message", "role": "developer", "content": {"type": "input_text", "text": "Answer."}},
        {"type": "message", "role": "user", "content": {"type": "input_text", "text": "{{item.input}}"}}]
    assert run_body["data_source"]["source"] == {"type": "file_content", "content": [{"item": c} for c in CASES]}
    assert (result["passed"], result["failed"], result["total"]) == (1, 1, 2)
    assert [(c["item"]["input"], c["passed"], c["output"]) for c in result["cases"]] == [
        ("2+2", True, "Echo: 2+2"), ("capital of France", False, "Echo: capital of France")]
    assert events.of("progress")[-1]["message"].endswith("completed: 1 passed, 1 failed")
    again, _ = await run_action("eval.get_run", {"eval_id": created["id"], "run_id": result["run"]["id"]},
                                tmp_path, client)
    assert [c["passed"] for c in again["cases"]] == [True, False]


@covers("eval.run", "eval.create")
async def test_eval_inputs_are_checked_before_sending(fake_server, client, tmp_path):
    with pytest.raises(NodeError, match="'Cases' must be a non-empty list of objects"):
        await run_action("eval.run", {"eval_id": "eval_1", "cases": "[1, 2]"}, tmp_path, client)
    with pytest.raises(NodeError, match="'Check' expects one of"):
        await run_action("eval.create", {"check": "roughly"}, tmp_path, client)
    assert fake_server.requests == []


@covers("upload.create")
async def test_a_large_file_is_uploaded_in_parts_and_becomes_a_file(fake_server, client, tmp_path):
    data = bytes(range(256)) * 40  # 10 KB in 4 KB parts
    (tmp_path / "train.jsonl").write_bytes(data)
    output, events = await run_action("upload.create", {"file": str(tmp_path / "train.jsonl"),
                                                        "part_size_mb": 4096 / 1024 / 1024}, tmp_path, client)
    created = fake_server.requests_to("/uploads")[0].json
    assert created == {"bytes": len(data), "filename": "train.jsonl", "mime_type": "application/jsonl",
                       "purpose": "batch"}
    parts = fake_server.requests_to(f"/uploads/{output['id']}/parts")
    assert [p.files["data"][1] for p in parts] == [4096, 4096, 2048]
    complete = fake_server.requests_to(f"/uploads/{output['id']}/complete")[0].json
    assert complete["md5"] == hashlib.md5(data).hexdigest()
    assert complete["part_ids"] == [p.answer["id"] for p in parts]
    assert output["status"] == "completed" and output["file"]["bytes"] == len(data) and output["parts"] == 3
    assert fake_server.file_contents[output["file"]["id"]] == data
    assert [e["parts_done"] for e in events.of("progress")] == [1, 2, 3]


@covers("upload.create")
async def test_a_failed_part_cancels_the_upload(fake_server, client, tmp_path):
    (tmp_path / "big.bin").write_bytes(b"x" * 3000)
    fake_server.fail_next(400, path="/parts", message="part refused")
    with pytest.raises(NodeError, match="part refused"):
        await run_action("upload.create", {"file": str(tmp_path / "big.bin"), "part_size_mb": 0.001},
                         tmp_path, client)
    cancelled = [r for r in fake_server.requests_to("/uploads/*", "POST") if r.api_path.endswith("/cancel")]
    assert len(cancelled) == 1 and cancelled[0].answer["status"] == "cancelled"


@covers("eval.create", "eval.run")
async def test_single_brace_templates_become_openai_templates(fake_server, client, tmp_path):
    criteria = [{"type": "string_check", "name": "exact", "input": "{sample.output_text}",
                 "reference": "Echo: {item.question}", "operation": "eq"}]
    created, _ = await run_action("eval.create", {"testing_criteria": criteria, "item_schema": {
        "type": "object", "properties": {"question": {"type": "string"}}}}, tmp_path, client)
    assert fake_server.requests_to("/evals")[0].json["testing_criteria"][0]["reference"] == "Echo: {{item.question}}"
    result, _ = await run_action("eval.run", {"eval_id": created["id"], "cases": [{"question": "why"}],
                                              "prompt": "Q: {question}", "poll_interval_ms": 20}, tmp_path, client)
    template = fake_server.requests_to(f"/evals/{created['id']}/runs")[0].json["data_source"]["input_messages"]
    assert template["template"][0]["content"] == {"type": "input_text", "text": "Q: {{item.question}}"}
    assert result["cases"][0]["output"] == "Echo: Q: why" and result["passed"] == 0  # "Echo: why" != "Echo: Q: why"
