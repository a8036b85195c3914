"""The fake server's command line: `python -m studio.connectors.openai.fake_server --port 0
--latency-ms 50` prints the base URL as its first line and serves until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.connectors.openai.fake_server",
                                     description="Serve a fake OpenAI-compatible API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before every answer")
    parser.add_argument("--stream-chunk-delay-ms", type=float, default=0, help="delay between streamed chunks")
    parser.add_argument("--echo", action="store_true",
                        help="answer every chat/responses request with an echo instead of the simulated model "
                             "(which calls offered tools and fills JSON schemas)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # The importable module's classes, also when this file runs as __main__ (the simulated
    # model's ToolCall answers are instances of the module's ToolCall).
    from studio.connectors.openai import fake_server as module

    answerer = None
    if not args.echo:
        from studio.connectors.openai.simulated import simulated_answer as answerer
    # Nothing outside this process can read the recorded requests; kept, they would only grow
    # the heap the collector walks (after 30,000 requests each full collection paused the
    # server for about 190 ms, in the middle of whatever a benchmark was timing).
    server = module.FakeOpenAIServer(latency_ms=args.latency_ms, port=args.port,
                                     stream_chunk_delay_ms=args.stream_chunk_delay_ms, answerer=answerer,
                                     keep_requests=0).start()
    print(server.base_url, flush=True)
    try:
        while not stop.wait(0.2):
            if not server.running:
                return 1
    finally:
        server.stop()
    return 0
