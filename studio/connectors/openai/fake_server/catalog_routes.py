"""Moderations, embeddings, models, files and fine-tuning jobs: the account's catalog-like endpoints."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from .common import FLAG_WORDS, MODELS, MODERATION_CATEGORIES, Call, _BadRequest, _error, _id, _now, _text_of, page
from .controls import RecordedRequest
from .embeddings import EmbeddingRequestError, embeddings_response


class CatalogRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"moderations": "_route_moderations", "embeddings": "_route_embeddings", "models": "_route_models",
             "files": "_route_files",
             "fine_tuning": "_route_fine_tuning"}

    async def _route_moderations(self, call: Call) -> Response | None:
        if not call.rest and call.method == "POST":
            return self._moderations(call.body)
        return None

    async def _route_embeddings(self, call: Call) -> Response | None:
        if not call.rest and call.method == "POST":
            try:
                return JSONResponse(embeddings_response(call.body))
            except EmbeddingRequestError as exc:
                raise _BadRequest(str(exc), param=exc.param) from None
        return None

    async def _route_models(self, call: Call) -> Response | None:
        return self._models(call.method, call.rest)

    async def _route_files(self, call: Call) -> Response | None:
        return self._files(call.method, call.rest, call.record)

    async def _route_fine_tuning(self, call: Call) -> Response | None:
        if call.rest == ["jobs"] and call.method == "GET":
            return self._fine_tuning_jobs(call.query)
        return None

    def _moderations(self, body: dict[str, Any]) -> Response:
        raw = body.get("input")
        if raw in (None, "", []):
            raise _BadRequest("Missing required parameter: 'input'.", param="input")
        texts = [raw] if isinstance(raw, str) else [_text_of([x]) if isinstance(x, dict) else str(x) for x in raw]
        results = []
        for text in texts:
            lowered = text.lower()
            flagged = any(word in lowered for word in FLAG_WORDS)
            categories = {c: False for c in MODERATION_CATEGORIES}
            scores = {c: 0.0001 for c in MODERATION_CATEGORIES}
            if "hate" in lowered:
                categories["hate"], scores["hate"] = True, 0.91
            if "kill" in lowered:
                categories["violence"], scores["violence"] = True, 0.93
            if "flag" in lowered:
                categories["harassment"], scores["harassment"] = True, 0.88
            results.append({"flagged": flagged, "categories": categories, "category_scores": scores,
                            "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES}})
        return JSONResponse({"id": _id("modr-"), "model": body.get("model") or "omni-moderation-latest",
                             "results": results})

    # --- models ---------------------------------------------------------------------------------

    def _models(self, method: str, rest: list[str]) -> Response:
        def model(name: str, owner: str) -> dict[str, Any]:
            return {"id": name, "object": "model", "created": 1686935002, "owned_by": owner}

        if method == "GET" and not rest:
            return JSONResponse({"object": "list", "data": [model(n, o) for n, o in MODELS]})
        if method == "GET" and len(rest) == 1:
            owners = dict(MODELS)
            if rest[0] not in owners:
                return _error(404, f"The model '{rest[0]}' does not exist or you do not have access to it.",
                              code="model_not_found")
            return JSONResponse(model(rest[0], owners[rest[0]]))
        return _error(405 if not rest else 404, f"Invalid method {method} for /models")

    # --- files ----------------------------------------------------------------------------------

    def _files(self, method: str, rest: list[str], record: RecordedRequest) -> Response:
        if not rest and method == "POST":
            if "file" not in record.files:
                raise _BadRequest("Missing required parameter: 'file'.", param="file")
            purpose = record.form.get("purpose")
            if not purpose:
                raise _BadRequest("Missing required parameter: 'purpose'.", param="purpose")
            filename, size = record.files["file"]
            file = {"id": _id("file-"), "object": "file", "bytes": size, "created_at": _now(), "filename": filename,
                    "purpose": purpose, "status": "processed"}
            with self._lock:
                self.files[file["id"]] = file
                self.file_contents[file["id"]] = record.file_bytes.get("file", b"")
            return JSONResponse(file)
        if not rest and method == "GET":
            query = record.query
            items = [f for f in self.files.values() if not query.get("purpose") or f["purpose"] == query["purpose"]]
            return page(items, query, default_limit=10000, default_order="desc")
        if not rest:
            return _error(405, f"Invalid method {method} for /files")
        file = self.files.get(rest[0])
        if file is None:
            return _error(404, f"No such File object: {rest[0]}", param="id")
        if len(rest) == 1 and method == "GET":
            return JSONResponse(file)
        if len(rest) == 1 and method == "DELETE":
            with self._lock:
                self.files.pop(rest[0], None)
                self.file_contents.pop(rest[0], None)
            return JSONResponse({"id": rest[0], "object": "file", "deleted": True})
        if rest[1:] == ["content"] and method == "GET":
            return Response(self.file_contents.get(rest[0], b""), media_type="application/octet-stream")
        return _error(404, f"Invalid URL ({method} /v1/files/{'/'.join(rest)})")

    def _fine_tuning_jobs(self, query: dict[str, Any]) -> Response:
        jobs = [{"id": f"ftjob-fake{i}", "object": "fine_tuning.job", "created_at": 1721764800 + i,
                 "model": "gpt-4o-mini-2024-07-18", "fine_tuned_model": f"ft:gpt-4o-mini-2024-07-18:fake::job{i}",
                 "organization_id": "org-fake", "status": "succeeded", "error": None, "finished_at": 1721768400 + i,
                 "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8},
                 "training_file": "file-train", "validation_file": None, "result_files": ["file-result"],
                 "trained_tokens": 5768, "seed": 42, "estimated_finish": None, "integrations": [],
                 "metadata": None, "user_provided_suffix": None} for i in range(3)]
        return page(jobs, query)
