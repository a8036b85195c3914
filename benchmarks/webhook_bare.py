"""The baseline of the webhook figures: a bare Starlette endpoint served by uvicorn with the same
HTTP protocol as `studio serve` (h11), doing what the benchmark flow does: read the JSON body,
set two fields, record the execution (one row in SQLite, WAL, synchronous=NORMAL, the settings of
the run history) and answer the fields as JSON. Run as its own process:
`python -m benchmarks.webhook_bare DB_PATH` prints its URL, then serves until terminated."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
import uuid

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PATH = "/bench"


def app(db_path: str) -> Starlette:
    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, payload TEXT, output TEXT,"
               " started_at REAL, finished_at REAL)")

    async def endpoint(request: Request) -> JSONResponse:
        started = time.time()
        body = await request.json()
        output = {"ok": True, "n": body.get("n")}
        db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
                   (uuid.uuid4().hex, json.dumps(body), json.dumps(output), started, time.time()))
        return JSONResponse(output)

    return Starlette(routes=[Route(PATH, endpoint, methods=["POST"])])


async def main(db_path: str) -> None:
    config = uvicorn.Config(app(db_path), host="127.0.0.1", port=0, log_level="warning", lifespan="off", http="h11")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"serving on http://127.0.0.1:{port}", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
