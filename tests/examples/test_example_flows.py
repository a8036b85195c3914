"""Every bundled example flow runs end to end with `studio run --trust` (a real subprocess) against
a fake OpenAI server answering like the "Simulated (offline)" connection does, with nothing else
started for it, and ends as it should: succeeded, or waiting for the approval example. Agent
examples that use tools really call them (the server saw their results). No bundled example needs
a server someone must start by hand; the remote MCP recipe (docs/recipes/), which does, runs
against a stand-in with the reference server's tools and, where npx can fetch it, against the
reference server itself started as the recipe says. The checked-in files of the generated
examples are exactly what the generator writes (so they stay valid documents)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.processes import stop_processes
from studio.resources import examples_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(examples_dir().glob("*.flow.json"))
NON_AGENT = [p for p in EXAMPLES if not p.name.startswith("agent-")]

# How an example ends (default: succeeded, exit 0).
WAITING = {"agent-refund-with-approval.flow.json"}
# The function tools each example's agents must call (their results must reach the model).
TOOLS_CALLED = {
    "agent-flow-tool.flow.json": {"city_facts"},
    "agent-mcp-servers.flow.json": {"list_directory"},
    "agent-handoff-structured.flow.json": {"transfer_to_billing"},
}
# Examples whose chat node runs inside a Loop Over Items: (node, the items it runs for).
LOOPED = {"loop-if-set.flow.json": ("Answer", 2)}
NPX_EXAMPLES = {"agent-mcp-servers.flow.json"}
FILESYSTEM_SERVER = "@modelcontextprotocol/server-filesystem"
EVERYTHING_SERVER = "@modelcontextprotocol/server-everything"
RECIPE = ROOT / "docs" / "recipes" / "agent-mcp-remote-server.flow.json"
RECIPE_PORT = 3001  # where the reference server listens, as the recipe says


@pytest.fixture(scope="module")
def server():
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.connectors.openai.simulated import simulated_answer

    with FakeOpenAIServer(latency_ms=0, answerer=simulated_answer) as fake:
        yield fake


def catalog_action(action_id: str):
    from studio.catalog import load_catalog

    return load_catalog().get(action_id)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["FLOW_STUDIO_MCP_TIMEOUT_S"] = "120"  # a cold npx cache may take a while to start a server
    return env


def studio(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True,
                          env=_env(), timeout=300, cwd=cwd)


def called_tools(server) -> dict[str, list[str]]:
    """{tool name: outputs the model got back}, from the recorded Responses and Chat requests."""
    names: dict[str, str] = {}
    outputs: dict[str, list[str]] = {}
    for request in server.requests:
        body = request.json if isinstance(request.json, dict) else {}
        items = body.get("input") if request.api_path == "/responses" else body.get("messages")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call":
                names[item["call_id"]] = item["name"]
            for call in item.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
            if item.get("type") == "function_call_output" or item.get("role") == "tool":
                call_id = item.get("call_id") or item.get("tool_call_id")
                out = item.get("output", item.get("content"))
                outputs.setdefault(names.get(call_id, "?"), []).append(out if isinstance(out, str) else json.dumps(out))
    return outputs


def _stop(proc: subprocess.Popen) -> None:
    stop_processes(proc)


@pytest.fixture
def stand_in_mcp_server():
    """tests/examples/remote_mcp_server.py at a free port; yields its /mcp URL."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("remote_mcp_server.py"))],
                            stdout=subprocess.PIPE, text=True, env=_env())
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("PORT "), f"the stand-in MCP server did not start: {line!r}"
        port = int(line.split()[1])
        _wait_for_port(port, 20)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        _stop(proc)


def _wait_for_port(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def npx_filesystem_server(tmp_path_factory):
    """The reference filesystem MCP server in npx's cache (fetched once; it exits at end of input)."""
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("skipped: npx (Node.js) is not installed, and the local MCP example starts "
                    f"{FILESYSTEM_SERVER} with npx")
    folder = tmp_path_factory.mktemp("npx-warm")
    try:
        done = subprocess.run([npx, "-y", FILESYSTEM_SERVER, str(folder)], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip(f"skipped: npx could not fetch {FILESYSTEM_SERVER} from the npm registry within 300 s "
                    "(no network on this machine?); the local MCP example needs it once, then runs from npx's cache")
    if "running on stdio" not in done.stderr:
        pytest.skip(f"skipped: npx could not fetch or start {FILESYSTEM_SERVER} (no network on this machine?): "
                    f"{done.stderr[-500:]}")
    return npx


def test_the_issue_examples_exist():
    names = {p.name for p in EXAMPLES}
    for expected in ("chat-then-moderation", "image-then-vision", "speech-then-transcription",
                     "file-upload-list-delete", "raw-request", "fan-out-fan-in", "loop-if-set"):
        assert f"{expected}.flow.json" in names


def test_every_example_has_an_expected_outcome_here():
    agent_examples = {p.name for p in EXAMPLES if p.name.startswith("agent-")}
    assert set(TOOLS_CALLED) | WAITING <= agent_examples
    assert {"agent-refund-with-approval.flow.json", "agent-mcp-servers.flow.json"} <= agent_examples


def test_no_bundled_example_needs_a_server_someone_must_start():
    """What an example starts or contacts besides the OpenAI connection: only reference MCP servers
    that npx fetches and starts by itself."""
    from studio.flow.capabilities import needs_trust
    from studio.flow.io import load_flow

    for path in EXAMPLES:
        for reason in needs_trust(load_flow(path)):
            assert ") would start a local process: npx -y @modelcontextprotocol/" in reason, (path.name, reason)
    assert not RECIPE.is_relative_to(examples_dir())
    assert "agent.add_remote_mcp_server" in RECIPE.read_text(encoding="utf-8")


def _sum_called(server) -> str:
    outputs = called_tools(server)
    assert "get-sum" in outputs, f"the agent did not call get-sum: {outputs}"
    return " ".join(outputs["get-sum"])


def test_remote_mcp_recipe_runs_against_a_stand_in_for_the_reference_server(server, stand_in_mcp_server, tmp_path):
    """The recipe as written, but for its Server URL (the stand-in listens on a free port)."""
    text = RECIPE.read_text(encoding="utf-8")
    assert f"http://127.0.0.1:{RECIPE_PORT}/mcp" in text
    copy = tmp_path / RECIPE.name
    copy.write_text(text.replace(f"http://127.0.0.1:{RECIPE_PORT}/mcp", stand_in_mcp_server), encoding="utf-8")
    server.reset()
    done = studio("run", str(copy), "--trust", "--base-url", server.base_url, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout)["status"] == "succeeded"
    assert "The sum of 19 and 23 is 42" in _sum_called(server)


def test_remote_mcp_recipe_runs_as_documented_against_the_reference_server(server, tmp_path):
    """Start the reference server the way the recipe says, then run the recipe file unchanged."""
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip(f"skipped: npx (Node.js) is not installed, and the recipe's server is {EVERYTHING_SERVER}")
    try:
        socket.create_connection(("127.0.0.1", RECIPE_PORT), timeout=0.5).close()
        pytest.skip(f"skipped: port {RECIPE_PORT}, where the recipe expects the reference server, is taken")
    except OSError:
        pass
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([npx, "-y", EVERYTHING_SERVER, "streamableHttp"], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        if not _wait_for_port(RECIPE_PORT, 240):
            pytest.skip(f"skipped: npx could not fetch or start {EVERYTHING_SERVER} within 240 s "
                        f"(no network on this machine?): {log.read_text()[-500:]}")
        server.reset()
        done = studio("run", str(RECIPE), "--trust", "--base-url", server.base_url, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-4000:]
        assert json.loads(done.stdout)["status"] == "succeeded"
        assert "42" in _sum_called(server)
    finally:
        import os
        import signal

        try:
            os.killpg(proc.pid, signal.SIGTERM)  # npx, npm and the node server it started
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_checked_in_examples_match_the_generator(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import make_examples
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    for slug, flow in make_examples.examples().items():
        on_disk = json.loads((examples_dir() / f"{slug}.flow.json").read_text(encoding="utf-8"))
        assert on_disk == flow.model_dump(mode="json"), f"{slug}: run packaging/make_examples.py"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_with_studio_run(path: Path, server, tmp_path, request):
    if path.name in NPX_EXAMPLES:
        request.getfixturevalue("npx_filesystem_server")
    server.reset()
    (tmp_path / "hello.txt").write_text("hello\n", encoding="utf-8")  # something for the filesystem server
    done = studio("run", str(path), "--trust", "--base-url", server.base_url, "--json", cwd=tmp_path)
    waiting = path.name in WAITING
    assert done.returncode == (3 if waiting else 0), done.stderr[-4000:] + done.stdout[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == ("waiting" if waiting else "succeeded")
    flow = json.loads(path.read_text(encoding="utf-8"))
    states = {name: node["status"] for name, node in result["nodes"].items()}
    assert set(states) == {n["name"] for n in flow["nodes"]}
    # Nodes end succeeded, but those on the branches Classify and Branch did not take.
    assert {s for s in states.values()} <= {"succeeded", "skipped", "waiting"}, states
    # The run is in the history, node by node, like a run started in the editor.
    from studio.history import RunHistory

    recorded = RunHistory().get_run(result["run_id"])
    assert recorded.status == result["status"] and recorded.trigger == "cli"
    assert {n.node_name for n in recorded.nodes} == set(states)
    # Every API node really reached the server (triggers and core nodes take no connection and
    # make no request; a node inside a loop makes one per item).
    api_nodes = [n for n in flow["nodes"] if catalog_action(n["action"]).uses_connection]
    assert len(server.requests) >= (1 if path.name.startswith("agent-") else len(api_nodes))
    if path.name in LOOPED:
        node, items = LOOPED[path.name]
        assert [r.api_path for r in server.requests].count("/chat/completions") == items
        assert len(result["nodes"][node]["output"]) == items
    wanted = TOOLS_CALLED.get(path.name)
    if wanted:
        called = called_tools(server)
        assert wanted & set(called), f"none of {wanted} was called: {called}"
    if path.name == "agent-mcp-servers.flow.json":
        assert "hello.txt" in " ".join(called_tools(server)["list_directory"])  # the folder it ran in
        assert "hello.txt" in json.dumps(result["nodes"]["Run"]["output"]["final_output"])


def test_approval_example_waits_then_resumes_to_the_refund(server, tmp_path):
    server.reset()
    path = examples_dir() / "agent-refund-with-approval.flow.json"
    done = studio("run", str(path), "--trust", "--base-url", server.base_url, "--json", cwd=tmp_path)
    assert done.returncode == 3, done.stderr[-4000:]
    result = json.loads(done.stdout)
    [pending] = [r for p in result["pending"] for r in p["requests"]]
    assert pending["tool"] == "approve_refund"
    assert pending["arguments"]["amount"] == 50  # taken from "... refund the 50 EUR."
    assert "broken" in pending["arguments"]["reason"]
    assert "approve_refund" not in called_tools(server)  # nothing ran before the decision
    resumed = studio("resume", result["run_id"], "--approve", pending["id"], "--base-url", server.base_url,
                     "--json", "--trust", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    final = json.loads(resumed.stdout)
    assert final["status"] == "succeeded"
    assert "approve_refund" in called_tools(server)  # the approved call's result reached the model
    assert "approve_refund" in final["nodes"]["Run"]["output"]["final_output"]


def test_core_nodes_example_routes_each_item_and_loops_over_the_urgent_ones(server, tmp_path):
    """loop-if-set: If splits the items, the loop's chat node sees each urgent question, Set
    shapes both branches; the If's two branches are both taken."""
    server.reset()
    done = studio("run", str(examples_dir() / "loop-if-set.flow.json"), "--base-url", server.base_url, "--json",
                  "-i", 'questions=[{"question": "q1", "urgent": true}, {"question": "q2", "urgent": false}, '
                  '{"question": "q3", "urgent": false}]', cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    nodes = json.loads(done.stdout)["nodes"]
    asked = [r.json["messages"][-1]["content"] for r in server.requests if r.api_path == "/chat/completions"]
    assert asked == ["q1"]
    assert [a["answer"] for a in nodes["Answers"]["output"]] == ["Echo: q1"]
    assert nodes["Later"]["output"] == [{"question": "q2", "urgent": False, "status": "queued"},
                                        {"question": "q3", "urgent": False, "status": "queued"}]


def test_fan_out_branches_overlap(server, tmp_path):
    """The three middle branches of fan-out-fan-in are in flight together."""
    server.reset()
    server.latency_ms = 300
    try:
        done = studio("run", str(examples_dir() / "fan-out-fan-in.flow.json"), "--base-url", server.base_url,
                      "--json", cwd=tmp_path)
    finally:
        server.latency_ms = 0
    assert done.returncode == 0, done.stderr
    assert server.max_in_flight >= 3


@pytest.mark.parametrize("name", ["chat-then-moderation.flow.json", "agent-flow-tool.flow.json"])
def test_studio_run_simulated_needs_no_key_and_no_server(name, tmp_path):
    """`--simulated` runs the nodes left at the default connection on the built-in Simulated
    (offline) connection, as the editor's Run on does; without it and with no key, the run is
    refused before anything starts (exit 2) and says which connection lacks a key."""
    env = {**_env(), "FLOW_STUDIO_HOME": str(tmp_path / "home")}
    run = [sys.executable, "-m", "studio.cli", "run", str(examples_dir() / name), "--trust", "--json"]
    refused = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert refused.returncode == 2 and "OPENAI_API_KEY" in refused.stderr, refused.stderr
    done = subprocess.run([*run, "--simulated"], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["status"] == "succeeded"
