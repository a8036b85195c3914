"""Every bundled example finishes green under the fault mix rate limits are in real use: 30 % of
requests answered 429 and 10 % 500, and the first request of each run answered 429 so every
example meets at least one. `studio run --trust` (a real subprocess, the connection's default
retry policy: 5 tries within 60 s) against the fake OpenAI server answering like Simulated; the
nodes retry and say so, each retry a progress line and a step of the node.

The faults are seeded per example so a run is repeatable. A call fails only when all 5 of its
tries are refused, which under this mix happens to about 1 % of calls (0.4 ** 5); the seeds do
not happen to draw that for any example here."""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from pathlib import Path

import pytest

from studio.connectors.openai.fake_server import FaultRates

from test_example_flows import EXAMPLES, NPX_EXAMPLES, WAITING, npx_filesystem_server, server, studio  # noqa: F401

RETRY_LINE = re.compile(r"^\[\+\s*[\d.]+s\] (.+?): (rate limited \(429\)|server error \(500\)); retrying in [\d.]+ s "
                        r"\(try (\d+) of (\d+)\)$")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_finishes_green_under_429s_and_500s(path: Path, server, tmp_path, request):  # noqa: F811
    if path.name in NPX_EXAMPLES:
        request.getfixturevalue("npx_filesystem_server")
    server.reset()
    (tmp_path / "hello.txt").write_text("hello\n", encoding="utf-8")
    server.faults = FaultRates(rate_429=0.3, rate_500=0.1, seed=zlib.crc32(b"faults/" + path.name.encode()))
    server.fail_next(429, count=1)
    try:
        done = studio("run", str(path), "--trust", "--base-url", server.base_url, "--json", cwd=tmp_path)
    finally:
        server.faults = None
    waiting = path.name in WAITING
    assert done.returncode == (3 if waiting else 0), done.stderr[-4000:]
    result = json.loads(done.stdout)
    assert result["status"] == ("waiting" if waiting else "succeeded")
    assert {node["status"] for node in result["nodes"].values()} <= {"succeeded", "skipped", "waiting"}
    # The client retried (the executor's Max Tries never had to).
    assert all(node.get("attempts", 1) == 1 for node in result["nodes"].values())

    faults = Counter(r.fault for r in server.requests if r.fault)
    assert faults["429"] >= 1 and set(faults) <= {"429", "500"}
    retries = [m for m in map(RETRY_LINE.match, done.stderr.splitlines()) if m]
    # Every refused request was tried again, and the node said so on its events.
    assert len(retries) == sum(faults.values()), done.stderr[-4000:]
    assert Counter("429" if "429" in m.group(2) else "500" for m in retries) == faults
    # (a flow run as a tool reports its retries on the agent node: "Run: City Facts › Facts: ...")
    assert {m.group(1).split(":")[0] for m in retries} <= set(result["nodes"])
    assert all(int(m.group(3)) <= int(m.group(4)) for m in retries)
    # No tool an agent called failed on the way (a failed tool would let the agent answer around it).
    for name, node in result["nodes"].items():
        for step in node.get("steps") or []:
            if step["type"] == "tool_result":
                assert step["ok"] and '"error"' not in str(step.get("output")), (name, step)
        retried = [s for s in node.get("steps") or [] if s["type"] == "retry"]
        assert len(retried) == sum(m.group(1).split(":")[0] == name for m in retries)
