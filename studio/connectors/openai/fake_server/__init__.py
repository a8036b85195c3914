"""A fake OpenAI-compatible HTTP server on 127.0.0.1, for tests, the "Simulated (offline)"
connection and the packaged app's self-test. It answers every endpoint the action handlers use,
shaped like the real API, keeps files/assistants/threads in memory, and can be told to fail.

It is a real server (starlette served by uvicorn on its own event loop in a background thread),
so the real SDK, connection pooling, timeouts, retries and hundreds of overlapping slow requests
are exercised exactly as against api.openai.com.

    with FakeOpenAIServer(latency_ms=0) as server:
        settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url)
        ...
        server.requests[-1].json        # what the last request sent

Auth: any `Authorization: Bearer <key>` works except keys in `server.invalid_keys` (default
{"sk-invalid"}) and a missing header, which get OpenAI's 401 `invalid_api_key` error.

Default answers echo the input so tests can follow data through a flow:
chat and responses answer "Echo: <last user text>" (JSON mode: {"echo": <text>}; a JSON schema
format: a minimal object that fits the schema), moderations flag texts containing "flag", "kill"
or "hate", transcriptions return the uploaded file's text (non-text audio: a sentence naming the
file), assistant runs reply "Echo: <last user message>".

Scripting model outputs (for agent tests): `server.script(kind, *outputs)` queues canned answers.
`kind` is "responses" (POST /v1/responses), "chat" (POST /v1/chat/completions) or "any" (whichever
of the two asks next; a kind's own queue is used first). Each queued output answers one request:

    server.script("responses", tool_call("get_weather", {"city": "Paris"}), "It is sunny.")
    server.script("chat", {"answer": 42})          # structured output: the JSON text of the dict
    server.script("any", [tool_call("a", {}), tool_call("b", {"x": 1})])   # two calls at once

  - a `str`: the assistant's text;
  - `tool_call(name, arguments, call_id=None)`: one function call (arguments a dict or JSON text);
    in Responses a `function_call` output item, in Chat a `tool_calls` entry (finish_reason
    "tool_calls");
  - a list of tool calls: several calls in one answer;
  - any other dict or list: its JSON text (structured output).
Streaming requests stream scripted outputs the same way. `server.scripted` shows what is left.

Answerer: `FakeOpenAIServer(answerer=fn)` (or `server.answerer = fn`) answers chat/responses
requests nothing is scripted for: `fn(kind, body)` returns an output as above, or None for the
default answer. The "Simulated (offline)" connection and this module's CLI use
`studio.connectors.openai.simulated.simulated_answer`, a model-like answerer (calls offered tools
with schema-generated arguments, answers from tool results, fills JSON schemas).

Faults: `server.fail_next(status=429, count=1, retry_after=None, retry_after_ms=None, path=None)`
queues failures (status 0 drops the connection; `path` limits them to requests whose path contains
it); `server.faults = FaultRates(rate_429=.1, ..., seed=1)` fails requests at random at set rates
(dropped = the connection is closed without an answer; slow = `slow_ms` extra delay);
`server.latency_ms` delays every answer (settable while running).
Stream faults: `server.fail_stream_next(mode, after=2, count=1, pause_ms=0, path=None)` spoils the
next streamed answer(s) after `after` events: "truncate" ends it (with `data: [DONE]`) before any
finish reason / response.completed, "malformed" sends a chunk that is not JSON, "drop" closes the
connection mid-stream, "stall" pauses `pause_ms` before going on.

Images: `server.image_format` ("png", "jpeg", "gif", "webp", "svg"; None: the requested
output_format, else PNG) picks the bytes Create Image answers with, and `server.image_data_urls`
answers `url` with a `data:` URL instead of a link to the server.

Recording: `server.requests` holds a RecordedRequest per request (including failed ones: see
`.fault`; only the last N with `keep_requests=N`: none from the command line, the last 200 for the
simulated connection); `server.requests_to("/chat/completions")` filters them by path; `server.in_flight` /
`server.max_in_flight` count concurrent requests (a slow answer stops counting once its client
hangs up); `server.wait_idle()` waits for none in flight; `server.reset()` clears requests,
queues, scripts, faults and stored objects (files, assistants, threads, runs, responses,
conversations, vector stores, batches, videos, uploads, evals). A JSON answer is recorded too
(`.status`, `.answer`), so tests check it against OpenAI's schema; every file part of a multipart
request is in `.uploads`.

Long-running objects move one step each time they are looked at (GET): a background response
queued -> in_progress -> completed, a video's progress 0 -> 50 -> 100, a batch validating ->
in_progress -> finalizing -> completed (then its output file holds an echo answer per JSONL line),
a vector store file or file batch in_progress -> completed, an eval run queued -> in_progress ->
completed (graded with its string-check criteria). Built-in Responses tools each add their call
item (web search, file search over the server's vector stores, code interpreter, image generation,
MCP listing and approval request, then the call once approved, computer use).

CLI: `python -m studio.connectors.openai.fake_server --port 0 --latency-ms 50` prints the base URL
as its first line and serves until SIGINT/SIGTERM.

Layout: `server` (lifecycle, recording, faults, auth, routing by API family), one module per
family of routes (`chat`, `responses` with `builtin_tools`, `conversations`, `media`,
`catalog_routes`, `vector_stores`, `batches_videos`, `uploads_evals`, `assistants`), `common`
(answers derived from the input, errors, paging), `controls` (fault and recording records),
`payloads` (small real files), `cli` (the command line).
"""

from __future__ import annotations

from .common import API_PREFIX, MODELS, ToolCall, last_user_text, schema_instance, tool_call
from .controls import STREAM_FAULTS, FaultRates, RecordedRequest
from .payloads import IMAGE_SAMPLES, image_sample, speech_bytes, tiny_png
from .cli import main
from .server import FakeOpenAIServer

__all__ = ["API_PREFIX", "IMAGE_SAMPLES", "MODELS", "STREAM_FAULTS", "FakeOpenAIServer", "FaultRates",
           "RecordedRequest", "ToolCall", "image_sample", "last_user_text", "main", "schema_instance",
           "speech_bytes", "tiny_png", "tool_call"]
