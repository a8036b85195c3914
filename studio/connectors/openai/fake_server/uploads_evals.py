"""Uploads (a large file in parts: create, add parts, complete into a File, cancel) and Evals
(an eval with string-check graders; a run over inline items whose samples the fake model answers
"Echo: <the rendered user message>", one status step per look, graded when it completes)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse, Response

from .common import Call, _BadRequest, _error, _id, _now, _public, _text_of, _tokens, page

TEMPLATE = re.compile(r"\{\{\s*(item|sample)\.([\w.]+)\s*\}\}")
RUN_STEPS = ("queued", "in_progress", "completed")


def render(template: str, item: dict[str, Any], sample: dict[str, Any] | None = None) -> str:
    """Fill {{item.x}} and {{sample.output_text}} the way eval templates do."""
    def value(match: re.Match) -> str:
        source: Any = item if match.group(1) == "item" else (sample or {})
        for part in match.group(2).split("."):
            source = source.get(part, "") if isinstance(source, dict) else ""
        return str(source)

    return TEMPLATE.sub(value, str(template))


def string_check(grader: dict[str, Any], item: dict[str, Any], sample: dict[str, Any]) -> bool:
    got, want = render(grader.get("input", ""), item, sample), render(grader.get("reference", ""), item, sample)
    operation = grader.get("operation", "eq")
    if operation == "eq":
        return got == want
    if operation == "ne":
        return got != want
    if operation == "like":
        return want in got
    return want.lower() in got.lower()  # ilike


class UploadEvalRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"uploads": "_route_uploads", "evals": "_route_evals"}

    # --- uploads --------------------------------------------------------------------------------

    async def _route_uploads(self, call: Call) -> Response | None:
        body, rest = call.body, call.rest
        if not rest and call.method == "POST":
            for key in ("filename", "purpose", "bytes", "mime_type"):
                if body.get(key) in (None, ""):
                    raise _BadRequest(f"Missing required parameter: '{key}'.", param=key)
            now = _now()
            upload = {"id": _id("upload_"), "object": "upload", "bytes": int(body["bytes"]), "created_at": now,
                      "filename": body["filename"], "purpose": body["purpose"], "status": "pending",
                      "expires_at": now + 3600, "_parts": {}, "_mime": body["mime_type"]}
            with self._lock:
                self.uploads[upload["id"]] = upload
            return JSONResponse(_public(upload))
        upload = self.uploads.get(rest[0]) if rest else None
        if upload is None:
            return _error(404, f"No upload found with id '{rest[0] if rest else ''}'.", param="upload_id")
        if upload["status"] != "pending":
            raise _BadRequest(f"Upload is {upload['status']}.", param="upload_id")
        if rest[1:] == ["parts"] and call.method == "POST":
            if "data" not in call.record.file_bytes:
                raise _BadRequest("Missing required parameter: 'data'.", param="data")
            part = {"id": _id("part_"), "object": "upload.part", "created_at": _now(), "upload_id": upload["id"]}
            with self._lock:
                upload["_parts"][part["id"]] = call.record.file_bytes["data"]
            return JSONResponse(part)
        if rest[1:] == ["complete"] and call.method == "POST":
            part_ids = body.get("part_ids") or []
            missing = [p for p in part_ids if p not in upload["_parts"]]
            if missing or not part_ids:
                raise _BadRequest(f"Unknown part ids: {missing or 'none given'}.", param="part_ids")
            data = b"".join(upload["_parts"][p] for p in part_ids)
            if len(data) != upload["bytes"]:
                raise _BadRequest(f"The parts hold {len(data)} bytes, the upload was created for {upload['bytes']}.",
                                  param="part_ids")
            file = {"id": _id("file-"), "object": "file", "bytes": len(data), "created_at": _now(),
                    "filename": upload["filename"], "purpose": upload["purpose"], "status": "processed"}
            with self._lock:
                self.files[file["id"]] = dict(file)
                self.file_contents[file["id"]] = data
                upload.update(status="completed", file=file)
            return JSONResponse(_public(upload))
        if rest[1:] == ["cancel"] and call.method == "POST":
            with self._lock:
                upload["status"] = "cancelled"
            return JSONResponse(_public(upload))
        return None

    # --- evals ----------------------------------------------------------------------------------

    async def _route_evals(self, call: Call) -> Response | None:
        body, rest = call.body, call.rest
        if not rest and call.method == "POST":
            config = body.get("data_source_config") or {}
            if config.get("type") != "custom" or not isinstance(config.get("item_schema"), dict):
                raise _BadRequest("This server takes custom data source configs with an item_schema.",
                                  param="data_source_config")
            criteria = body.get("testing_criteria") or []
            if not criteria or any(c.get("type") != "string_check" for c in criteria):
                raise _BadRequest("This server grades with string_check criteria only.", param="testing_criteria")
            schema = {"type": "object", "properties": {"item": config["item_schema"]}, "required": ["item"]}
            if config.get("include_sample_schema"):
                schema["properties"]["sample"] = {"type": "object"}
            evaluation = {"id": _id("eval_"), "object": "eval", "name": body.get("name") or "eval",
                          "created_at": _now(), "metadata": body.get("metadata") or {},
                          "data_source_config": {"type": "custom", "schema": schema},
                          "testing_criteria": criteria}
            with self._lock:
                self.evals[evaluation["id"]] = evaluation
            return JSONResponse(evaluation, status_code=201)
        evaluation = self.evals.get(rest[0]) if rest else None
        if evaluation is None:
            return _error(404, f"No eval found with id '{rest[0] if rest else ''}'.", param="eval_id")
        if rest[1:2] != ["runs"]:
            return JSONResponse(evaluation) if len(rest) == 1 and call.method == "GET" else None
        if len(rest) == 2 and call.method == "POST":
            return self._new_eval_run(evaluation, body)
        run = self.eval_runs.get(rest[2]) if len(rest) >= 3 else None
        if run is None or run["eval_id"] != evaluation["id"]:
            return _error(404, f"No run found with id '{rest[2] if len(rest) >= 3 else ''}'.", param="run_id")
        if len(rest) == 3 and call.method == "GET":
            self._advance_eval_run(evaluation, run)
            return JSONResponse(_public(run))
        if rest[3:] == ["output_items"] and call.method == "GET":
            items = run["_outputs"]
            if call.query.get("status"):
                items = [i for i in items if i["status"] == call.query["status"]]
            return page(items, call.query, default_order="asc")
        return None

    def _new_eval_run(self, evaluation: dict[str, Any], body: dict[str, Any]) -> Response:
        source = body.get("data_source") or {}
        content = (source.get("source") or {}).get("content")
        if source.get("type") != "completions" or not isinstance(content, list):
            raise _BadRequest("This server runs completions data sources with inline file_content.",
                              param="data_source")
        run = {"id": _id("evalrun_"), "object": "eval.run", "eval_id": evaluation["id"], "status": "queued",
               "model": source.get("model") or "gpt-4.1-mini", "name": body.get("name") or "run",
               "created_at": _now(), "report_url": f"https://platform.openai.com/evals/{evaluation['id']}",
               "result_counts": {"total": 0, "errored": 0, "failed": 0, "passed": 0}, "per_model_usage": [],
               "per_testing_criteria_results": [], "data_source": source, "metadata": body.get("metadata") or {},
               "error": {"code": "", "message": ""}, "_outputs": [], "_seq": self._next_seq()}
        with self._lock:
            self.eval_runs[run["id"]] = run
        return JSONResponse(_public(run), status_code=201)

    def _advance_eval_run(self, evaluation: dict[str, Any], run: dict[str, Any]) -> None:
        with self._lock:
            if run["status"] not in RUN_STEPS[:-1]:
                return
            run["status"] = RUN_STEPS[RUN_STEPS.index(run["status"]) + 1]
        if run["status"] == "completed":
            self._grade(evaluation, run)

    def _grade(self, evaluation: dict[str, Any], run: dict[str, Any]) -> None:
        source = run["data_source"]
        template = (source.get("input_messages") or {}).get("template") or []
        criteria = evaluation["testing_criteria"]
        tallies = {c["name"]: [0, 0] for c in criteria}
        outputs, prompt_total, completion_total = [], 0, 0
        for index, row in enumerate(source["source"]["content"]):
            item = row.get("item") or {}
            messages = [{"role": m.get("role", "user"), "content": render(_text_of([m.get("content")])
                                                                      if isinstance(m.get("content"), dict)
                                                                      else m.get("content", ""), item)}
                        for m in template]
            user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
            text = f"Echo: {user}"
            prompt, completion = _tokens(user), _tokens(text)
            prompt_total, completion_total = prompt_total + prompt, completion_total + completion
            sample = {"output_text": text}
            results = []
            for grader in criteria:
                passed = string_check(grader, item, sample)
                tallies[grader["name"]][0 if passed else 1] += 1
                results.append({"name": grader["name"], "type": "string_check", "passed": passed,
                                "score": 1.0 if passed else 0.0})
            passed_all = all(r["passed"] for r in results)
            outputs.append({
                "object": "eval.run.output_item", "id": _id("outputitem_"), "run_id": run["id"],
                "eval_id": evaluation["id"], "created_at": _now(), "status": "pass" if passed_all else "fail",
                "datasource_item_id": index, "datasource_item": item, "results": results, "_seq": index,
                "sample": {"input": messages, "output": [{"role": "assistant", "content": text}],
                           "finish_reason": "stop", "model": run["model"], "error": {"code": "", "message": ""},
                           "temperature": 1.0, "max_completion_tokens": 2048, "top_p": 1.0, "seed": 42,
                           "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                     "total_tokens": prompt + completion, "cached_tokens": 0}}})
        passed = sum(1 for o in outputs if o["status"] == "pass")
        with self._lock:
            run.update(_outputs=outputs,
                       result_counts={"total": len(outputs), "errored": 0, "failed": len(outputs) - passed,
                                      "passed": passed},
                       per_testing_criteria_results=[{"testing_criteria": name, "passed": p, "failed": f}
                                                     for name, (p, f) in tallies.items()],
                       per_model_usage=[{"model_name": run["model"], "invocation_count": len(outputs),
                                         "prompt_tokens": prompt_total, "completion_tokens": completion_total,
                                         "total_tokens": prompt_total + completion_total, "cached_tokens": 0}])
