"""Vector stores: create, list, retrieve, update, delete; attach and detach files and file
batches (each look at a file or batch moves it from in_progress to completed); search by word
overlap with the files' text. File search in Responses uses the same search."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from .common import Call, _BadRequest, _error, _id, _now, _public, page

STATIC_CHUNKING = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}


class VectorStoreRoutes:
    """Routes of the fake server (a mixin of FakeOpenAIServer, which holds the state)."""

    HEADS = {"vector_stores": "_route_vector_stores"}

    def vector_search(self, store_ids: list[str], query: str, limit: int) -> list[dict[str, Any]]:
        """Files of the stores ranked by how many of the query's words their text holds."""
        words = {w.strip(".,?!").lower() for w in query.split() if len(w) > 2}
        hits = []
        for store_id in store_ids:
            for entry in self.vector_files.get(store_id, {}).values():
                text = self.file_contents.get(entry["id"], b"").decode("utf-8", "replace")
                found = {w.strip(".,?!").lower() for w in text.split()} & words
                if found or not words:
                    score = round(len(found) / max(1, len(words)), 4)
                    file = self.files.get(entry["id"]) or {}
                    hits.append({"file_id": entry["id"], "filename": file.get("filename", entry["id"]),
                                 "score": score, "attributes": entry.get("attributes") or {},
                                 "content": [{"type": "text", "text": text[:400]}]})
        return sorted(hits, key=lambda h: -h["score"])[:limit]

    def _store_view(self, store: dict[str, Any]) -> dict[str, Any]:
        entries = list(self.vector_files.get(store["id"], {}).values())
        counts = {s: sum(1 for e in entries if e["status"] == s) for s in ("in_progress", "completed", "failed",
                                                                        "cancelled")}
        usage = sum(e["usage_bytes"] for e in entries)
        status = "in_progress" if counts["in_progress"] else "completed"
        return {**_public(store), "file_counts": {**counts, "total": len(entries)}, "usage_bytes": usage,
                "status": status}

    def _attach(self, store_id: str, file_id: str, attributes: Any, batch_id: str | None = None) -> dict[str, Any]:
        if file_id not in self.files:
            raise _BadRequest(f"No file found with id '{file_id}'.", param="file_id", status=404)
        entry = {"id": file_id, "object": "vector_store.file", "created_at": _now(), "vector_store_id": store_id,
                 "status": "in_progress", "last_error": None, "usage_bytes": self.files[file_id]["bytes"],
                 "attributes": attributes or {}, "chunking_strategy": STATIC_CHUNKING, "_batch": batch_id,
                 "_seq": self._next_seq()}
        with self._lock:
            self.vector_files.setdefault(store_id, {})[file_id] = entry
        return entry

    def _look(self, entry: dict[str, Any]) -> dict[str, Any]:
        """One look at an attached file: in_progress the first time, completed after."""
        with self._lock:
            if entry["status"] == "in_progress":
                if entry.get("_looked"):
                    entry["status"] = "completed"
                entry["_looked"] = True
        return entry

    async def _route_vector_stores(self, call: Call) -> Response | None:
        body, rest, method = call.body, call.rest, call.method
        if not rest and method == "POST":
            store = {"id": _id("vs_"), "object": "vector_store", "created_at": _now(), "name": body.get("name") or "",
                     "metadata": body.get("metadata") or {}, "last_active_at": _now(), "expires_at": None,
                     "_seq": self._next_seq()}
            if body.get("expires_after"):
                store["expires_after"] = body["expires_after"]
            with self._lock:
                self.vector_stores[store["id"]] = store
                self.vector_files[store["id"]] = {}
            for file_id in body.get("file_ids") or []:
                self._attach(store["id"], file_id, None)
            return JSONResponse(self._store_view(store))
        if not rest and method == "GET":
            return page([self._store_view(s) | {"_seq": s["_seq"]} for s in self.vector_stores.values()], call.query)
        if not rest:
            return None
        store = self.vector_stores.get(rest[0])
        if store is None:
            return _error(404, f"No vector store found with id '{rest[0]}'.", param="vector_store_id")
        if len(rest) == 1:
            return self._vector_store(call, store)
        if rest[1] == "search" and len(rest) == 2 and method == "POST":
            query = body.get("query")
            queries = [query] if isinstance(query, str) else list(query or [])
            if not queries:
                raise _BadRequest("Missing required parameter: 'query'.", param="query")
            hits = self.vector_search([store["id"]], " ".join(queries), int(body.get("max_num_results") or 10))
            return JSONResponse({"object": "vector_store.search_results.page", "search_query": queries,
                                 "data": hits, "has_more": False, "next_page": None})
        if rest[1] == "files":
            return self._vector_store_files(call, store)
        if rest[1] == "file_batches":
            return self._file_batches(call, store)
        return None

    def _vector_store(self, call: Call, store: dict[str, Any]) -> Response | None:
        if call.method == "GET":
            for entry in self.vector_files.get(store["id"], {}).values():
                self._look(entry)
            return JSONResponse(self._store_view(store))
        if call.method == "POST":
            with self._lock:
                for key in ("name", "metadata", "expires_after"):
                    if key in call.body and call.body[key] is not None:
                        store[key] = call.body[key]
            return JSONResponse(self._store_view(store))
        if call.method == "DELETE":
            with self._lock:
                self.vector_stores.pop(store["id"], None)
                self.vector_files.pop(store["id"], None)
            return JSONResponse({"id": store["id"], "object": "vector_store.deleted", "deleted": True})
        return None

    def _vector_store_files(self, call: Call, store: dict[str, Any]) -> Response | None:
        files = self.vector_files.setdefault(store["id"], {})
        rest = call.rest
        if len(rest) == 2 and call.method == "POST":
            if not call.body.get("file_id"):
                raise _BadRequest("Missing required parameter: 'file_id'.", param="file_id")
            return JSONResponse(_public(self._attach(store["id"], call.body["file_id"], call.body.get("attributes"))))
        if len(rest) == 2 and call.method == "GET":
            entries = [self._look(e) for e in files.values()]
            if call.query.get("filter"):
                entries = [e for e in entries if e["status"] == call.query["filter"]]
            return page(entries, call.query)
        entry = files.get(rest[2]) if len(rest) == 3 else None
        if entry is None:
            return _error(404, f"No file found with id '{rest[-1]}' in vector store '{store['id']}'.",
                          param="file_id")
        if call.method == "GET":
            return JSONResponse(_public(self._look(entry)))
        if call.method == "DELETE":
            with self._lock:
                files.pop(rest[2], None)
            return JSONResponse({"id": rest[2], "object": "vector_store.file.deleted", "deleted": True})
        return None

    def _batch_view(self, batch: dict[str, Any]) -> dict[str, Any]:
        entries = [e for e in self.vector_files.get(batch["vector_store_id"], {}).values()
                   if e.get("_batch") == batch["id"]]
        counts = {s: sum(1 for e in entries if e["status"] == s) for s in ("in_progress", "completed", "failed",
                                                                        "cancelled")}
        status = batch["_status"] if batch["_status"] == "cancelled" else (
            "in_progress" if counts["in_progress"] else "completed")
        return {**_public(batch), "status": status, "file_counts": {**counts, "total": len(entries)}}

    def _file_batches(self, call: Call, store: dict[str, Any]) -> Response | None:
        rest = call.rest
        if len(rest) == 2 and call.method == "POST":
            file_ids = list(call.body.get("file_ids") or [f.get("file_id") for f in call.body.get("files") or []])
            if not file_ids:
                raise _BadRequest("Missing required parameter: 'file_ids'.", param="file_ids")
            batch = {"id": _id("vsfb_"), "object": "vector_store.files_batch", "created_at": _now(),
                     "vector_store_id": store["id"], "_status": "in_progress"}
            for file_id in file_ids:
                self._attach(store["id"], file_id, call.body.get("attributes"), batch["id"])
            with self._lock:
                self.vector_batches[batch["id"]] = batch
            return JSONResponse(self._batch_view(batch))
        batch = self.vector_batches.get(rest[2]) if len(rest) >= 3 else None
        if batch is None or batch["vector_store_id"] != store["id"]:
            return _error(404, f"No file batch found with id '{rest[-1]}'.", param="batch_id")
        entries = [e for e in self.vector_files.get(store["id"], {}).values() if e.get("_batch") == batch["id"]]
        if len(rest) == 3 and call.method == "GET":
            for entry in entries:
                self._look(entry)
            return JSONResponse(self._batch_view(batch))
        if rest[3:] == ["cancel"] and call.method == "POST":
            with self._lock:
                batch["_status"] = "cancelled"
                for entry in entries:
                    if entry["status"] == "in_progress":
                        entry["status"] = "cancelled"
            return JSONResponse(self._batch_view(batch))
        if rest[3:] == ["files"] and call.method == "GET":
            return page(entries, call.query)
        return None
