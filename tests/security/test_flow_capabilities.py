"""A flow file from someone else starts nothing, reads nothing outside its folder and contacts no
host unasked: one analysis (studio/flow/capabilities.py) refuses what may never happen, lists what
needs trust, and the handlers check the run's Grant again when they would act.

Each case uses a real `studio` subprocess or a real run, the real fake OpenAI server on loopback
(which records every request), a program that leaves a mark if it is ever started, and a loopback
server that records anything sent to a host the flow should not reach."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx
import pytest

from studio.catalog import load_catalog
from studio.connectors.openai.client import ClientPool
from studio.connectors.openai.fake_server import FakeOpenAIServer
from studio.credentials import ConnectionSettings
from studio.engine.executor import run_flow
from studio.runs.serve import Server, load_served_flows
from studio.flow.capabilities import analyse, needs_trust
from studio.flow.io import load_flow
from studio.history import RunHistory

from security_testkit import RecordingServer, flow, marking_program, node, save, stdio_config, studio, wire

SECRET = "TOP-SECRET-file-content-4242"


def sent_anything_containing(server: FakeOpenAIServer, text: str) -> bool:
    return any(text.encode() in r.content for r in server.requests)


async def run(f, server, *, payload=None, folder: Path | None = None, trusted: bool = True):
    pool = ClientPool()
    settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url, max_retries=0)

    async def connect(_name):
        return await pool.get(settings)

    services = {"flow_dir": str(folder)} if folder is not None else None
    try:
        return await run_flow(f, trigger_payload=payload, connect=connect, services=services, trusted=trusted,
                              run_dir=(folder or Path.cwd()) / "run")
    finally:
        await pool.aclose()


def agent_flow(mcp_servers: str):
    start = node("trigger.manual", "Start")
    agent = node("agent.create", "Agent", name="Helper", mcp_servers=mcp_servers)
    runner = node("agent.run", "Run", user_input="hello")
    return flow("looks harmless", [start, agent, runner], [wire(start, agent), wire(agent, runner, "agent", "agent")])


# --- 1. no program from data ------------------------------------------------------------------------

INTERPRETERS = {
    "python": None,  # the real interpreter, so a regression would leave the mark
    "node": ("node", ["-e", "require('fs').writeFileSync('MARK', 'x')"]),
    "perl": ("perl", ["-e", "open(F, '>MARK')"]),
    "ruby": ("ruby", ["-e", "File.write('MARK', 'x')"]),
}


@pytest.mark.parametrize("interpreter", list(INTERPRETERS))
def test_server_json_written_in_agent_create_is_refused_by_validate_and_run(server, tmp_path, interpreter):
    marker = tmp_path / "MARK"
    command, args = INTERPRETERS[interpreter] or marking_program(marker)
    path = save(agent_flow(json.dumps([stdio_config(command, args)])), tmp_path / "flows")

    checked = studio("validate", str(path))
    assert checked.returncode == 2
    assert "Agent: 'MCP Servers' holds an MCP server written as JSON" in checked.stderr
    assert "Add Local MCP Server" in checked.stderr

    for extra in ([], ["--trust"]):  # trusting the file does not make data a program
        ran = studio("run", str(path), "--base-url", server.base_url, *extra)
        assert ran.returncode == 2, ran.stderr
        assert "'MCP Servers' holds an MCP server written as JSON" in ran.stderr
    assert not marker.exists() and not (Path.cwd() / "MARK").exists()
    assert server.requests == []


def test_a_server_config_from_the_trigger_is_refused_when_the_node_runs(server, tmp_path):
    marker = tmp_path / "MARK"
    path = save(agent_flow("{{ trigger.servers }}"), tmp_path / "flows")
    assert studio("validate", str(path)).returncode == 0  # an expression is only known at run time

    servers = json.dumps([stdio_config(*marking_program(marker))])
    ran = studio("run", str(path), "--base-url", server.base_url, "--trust", "--json", "--input", f"servers={servers}")
    assert ran.returncode == 1, ran.stderr
    error = json.loads(ran.stdout)["nodes"]["Run"]["error"]["message"]
    assert "Run: MCP server 'innocent': refused to start" in error
    assert "Add Local MCP Server node whose command and arguments are written out" in error
    assert not marker.exists()
    assert server.requests == []  # refused before the model was asked anything


async def test_a_model_cannot_hand_a_program_to_an_agent(server, tmp_path):
    """The model's answer is data too: a stdio config taken from a node's output is refused."""
    marker = tmp_path / "MARK"
    server.script("chat", json.dumps([stdio_config(*marking_program(marker))]))
    start = node("trigger.manual", "Start")
    ask = node("chat.create_completion", "Ask", model="gpt-4.1-mini", messages=[{"role": "user", "content": "x"}])
    agent = node("agent.create", "Agent", name="Helper",
                 mcp_servers="{{ nodes.Ask.output.choices[0].message.content }}")
    runner = node("agent.run", "Run", user_input="hello")
    f = flow("model output", [start, ask, agent, runner],
             [wire(start, ask), wire(ask, agent), wire(agent, runner, "agent", "agent")])
    result = await run(f, server, folder=tmp_path)
    assert result.status == "failed"
    assert "refused to start" in result.node("Run").error["message"]
    assert not marker.exists()


async def test_a_webhook_caller_cannot_start_a_program(server, tmp_path):
    """`studio serve --trust` on a webhook flow: one POST with a stdio config in its body."""
    marker = tmp_path / "MARK"
    start = node("trigger.webhook", "Hook", path="/hooks/in", response_node="Run")
    agent = node("agent.create", "Agent", name="Helper", mcp_servers="{{ trigger.body.servers }}")
    runner = node("agent.run", "Run", user_input="hello")
    path = save(flow("hook", [start, agent, runner], [wire(start, agent), wire(agent, runner, "agent", "agent")]),
                tmp_path / "flows")
    catalog = load_catalog()
    served = load_served_flows([str(path)], catalog, trust=True)
    pool = ClientPool()
    settings = ConnectionSettings(api_key="sk-test", base_url=server.base_url, max_retries=0)

    async def connect(_name):
        return await pool.get(settings)

    history = RunHistory(tmp_path / "history.sqlite3")
    serving = Server(flows=served, connect=connect, history=history, catalog=catalog, trusted=True,
                     runs_root=tmp_path / "runs")
    await serving.start()
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"http://127.0.0.1:{serving.port}/hooks/in",
                                      json={"servers": [stdio_config(*marking_program(marker))]})
    finally:
        await serving.stop()
        await pool.aclose()
    assert reply.status_code == 500
    assert "refused to start" in reply.json()["error"]["message"]
    assert not marker.exists()
    [record] = history.list_runs()
    assert record.status == "failed"
    history.close()


def test_a_program_or_its_arguments_from_an_expression_is_refused(server, tmp_path):
    marker = tmp_path / "MARK"
    command, args = marking_program(marker)
    start = node("trigger.manual", "Start")
    for values, label in (({"command": "{{ trigger.pkg }}", "args": args}, "Command"),
                          ({"command": command, "args": ["-c", "{{ trigger.code }}"]}, "Arguments")):
        mcp = node("agent.add_local_mcp_server", "Tools", server_label="x", **values)
        path = save(flow("computed", [start, mcp], [wire(start, mcp)]), tmp_path / "flows")
        checked = studio("validate", str(path))
        assert checked.returncode == 2
        assert f"Tools: '{label}' must be written out, not computed by an expression" in checked.stderr
        ran = studio("run", str(path), "--trust", "--base-url", server.base_url,
                     "--input", f"pkg={command}", "--input", f"code=open({str(marker)!r}, 'w')")
        assert ran.returncode == 2 and "must be written out" in ran.stderr
    assert not marker.exists()


async def test_the_handler_refuses_a_computed_program_even_without_validation(server, tmp_path):
    """run_flow does not validate: the handler itself refuses (no path around the analysis)."""
    marker = tmp_path / "MARK"
    command, args = marking_program(marker)
    start = node("trigger.manual", "Start")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="x", command="{{ trigger.pkg }}", args=args)
    agent = node("agent.create", "Agent", name="Helper")
    runner = node("agent.run", "Run", user_input="hello")
    f = flow("computed", [start, mcp, agent, runner],
             [wire(start, mcp), wire(mcp, agent, "mcp_servers", "mcp_server"), wire(agent, runner, "agent", "agent")])
    result = await run(f, server, payload={"pkg": command}, folder=tmp_path)
    assert result.status == "failed"
    assert "'Command' must be written out" in result.node("Tools").error["message"]
    assert not marker.exists()


async def test_a_written_out_program_still_needs_trust(server, tmp_path):
    marker = tmp_path / "MARK"
    command, args = marking_program(marker)
    start = node("trigger.manual", "Start")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="x", command=command, args=args)
    agent = node("agent.create", "Agent", name="Helper")
    runner = node("agent.run", "Run", user_input="hello")
    f = flow("written", [start, mcp, agent, runner],
             [wire(start, mcp), wire(mcp, agent, "mcp_servers", "mcp_server"), wire(agent, runner, "agent", "agent")])
    result = await run(f, server, folder=tmp_path, trusted=False)
    assert result.status == "failed"
    assert "not trusted to start local processes" in result.node("Tools").error["message"]
    assert not marker.exists()


# --- 2. the prompt lists exactly what will happen ---------------------------------------------------


def test_the_trust_prompt_lists_programs_files_hosts_and_ports(server, tmp_path):
    outside = tmp_path / "elsewhere" / "notes.txt"
    outside.parent.mkdir()
    outside.write_text(SECRET)
    hook = node("trigger.webhook", "Hook", path="/hooks/orders", method="PUT")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="fs", command="npx",
               args=["-y", "@modelcontextprotocol/server-filesystem", "a folder with spaces"])
    remote = node("agent.add_remote_mcp_server", "Remote", server_label="r",
                  server_url="https://mcp.example.com:8443/tenants/{{ trigger.body.tenant }}")
    upload = node("file.upload", "Upload", file=str(outside), purpose="assistants")
    local = node("file.upload", "Local", file="data/inside.txt", purpose="assistants")
    f = flow("everything", [hook, mcp, remote, upload, local], [wire(hook, upload), wire(hook, local)])
    path = save(f, tmp_path / "flows")

    ran = studio("run", str(path), "--base-url", server.base_url)
    assert ran.returncode == 2
    lines = [line.strip() for line in ran.stderr.splitlines() if line.strip().startswith("- ")]
    assert lines == [
        "- node 'Hook' (Webhook Trigger) would open a local port and accept HTTP requests for PUT /hooks/orders",
        "- node 'Tools' (Agent: Add Local MCP Server) would start a local process: "
        "npx -y @modelcontextprotocol/server-filesystem 'a folder with spaces'",
        "- node 'Remote' (Agent: Add Remote MCP Server) would connect to https://mcp.example.com:8443 "
        "(written as https://mcp.example.com:8443/tenants/{{ trigger.body.tenant }})",
        f"- node 'Upload' (Upload File) would read a file outside the flow's folder ('File'): {outside}",
    ]
    assert server.requests == []
    caps = analyse(load_flow(path), load_catalog(), path.parent)
    assert caps.processes() == {("npx", ("-y", "@modelcontextprotocol/server-filesystem", "a folder with spaces"))}


@pytest.mark.parametrize("url", ["{{ trigger.url }}", "https://{{ trigger.host }}/mcp",
                                 "https://mcp.example.com{{ trigger.port }}/mcp", "http://{{ trigger.h }}"])
def test_a_remote_server_address_from_an_expression_is_refused(url, tmp_path):
    start = node("trigger.manual", "Start")
    remote = node("agent.add_remote_mcp_server", "Remote", server_label="r", server_url=url)
    path = save(flow("host", [start, remote], [wire(start, remote)]), tmp_path)
    checked = studio("validate", str(path))
    assert checked.returncode == 2
    assert "Remote: 'Server URL' must write out the server's address" in checked.stderr


async def test_a_host_from_data_is_refused_and_receives_nothing(server, tmp_path):
    with RecordingServer() as elsewhere:
        servers = [{"type": "mcp_server", "transport": "streamable_http", "label": "r", "url": elsewhere.url + "/mcp",
                    "headers": {}}]
        result = await run(agent_flow("{{ trigger.servers }}"), server, payload={"servers": servers}, folder=tmp_path)
        # A remote server the flow wrote out, but the data points the agent at another host.
        start = node("trigger.manual", "Start")
        remote = node("agent.add_remote_mcp_server", "Remote", server_label="r",
                      server_url="https://mcp.example.com/{{ trigger.path }}")
        wired = await run(flow("redirected", [start, remote], [wire(start, remote)]), server,
                          payload={"path": "x"}, folder=tmp_path, trusted=False)
    assert result.status == "failed"
    assert f"refused to connect to {elsewhere.url}/mcp" in result.node("Run").error["message"]
    assert wired.status == "failed" and "not trusted to connect to https://mcp.example.com" in \
        wired.node("Remote").error["message"]
    assert elsewhere.received == []


# --- 3. files stay in the flow's folder -------------------------------------------------------------


def upload_flow(file_value) -> object:
    start = node("trigger.manual", "Start")
    upload = node("file.upload", "Upload", file=file_value, purpose="assistants")
    return flow("upload", [start, upload], [wire(start, upload)])


def test_a_written_path_outside_the_folder_needs_trust_and_then_reads_only_it(server, tmp_path):
    secret = tmp_path / "home" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    path = save(upload_flow(str(secret)), tmp_path / "flows")

    refused = studio("run", str(path), "--base-url", server.base_url)
    assert refused.returncode == 2 and f"would read a file outside the flow's folder ('File'): {secret}" in refused.stderr
    assert not sent_anything_containing(server, SECRET)

    allowed = studio("run", str(path), "--base-url", server.base_url, "--trust")
    assert allowed.returncode == 0, allowed.stderr
    assert sent_anything_containing(server, SECRET)  # listed, trusted, read


@pytest.mark.parametrize("how", ["expression", "artifact", "symlink", "dotdot"])
async def test_a_path_outside_the_folder_from_data_is_refused_when_the_node_runs(server, tmp_path, how):
    secret = tmp_path / "home" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    folder = tmp_path / "flows"
    folder.mkdir()
    payload = None
    if how == "expression":
        value, payload = "{{ trigger.file }}", {"file": str(secret)}
    elif how == "artifact":  # data shaped like an upstream file, pointing anywhere
        value, payload = "{{ trigger.file }}", {"file": {"artifact": True, "path": str(secret)}}
    elif how == "symlink":  # a link inside the folder is listed by where it leads, so untrusted it is refused
        (folder / "innocent.txt").symlink_to(secret)
        value = "innocent.txt"
        assert needs_trust(upload_flow(value), load_catalog(), folder)[0].endswith(f": {secret}")
    else:
        value, payload = "{{ trigger.file }}", {"file": "../home/secret.txt"}
    result = await run(upload_flow(value), server, payload=payload, folder=folder, trusted=how != "symlink")
    assert result.status == "failed"
    message = result.node("Upload").error["message"]
    assert "Upload: 'File': refused to read" in message and "outside the flow's folder" in message
    assert not sent_anything_containing(server, SECRET)


async def test_a_file_inside_the_folder_is_read_without_asking(server, tmp_path):
    folder = tmp_path / "flows"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "inside.txt").write_text("hello from inside")
    assert needs_trust(upload_flow("data/inside.txt"), load_catalog(), folder) == []
    result = await run(upload_flow("data/inside.txt"), server, folder=folder, trusted=False)
    assert result.status == "succeeded", result.error
    assert sent_anything_containing(server, "hello from inside")


async def test_raw_request_never_takes_a_text_value_for_a_path(server, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text(SECRET)
    monkeypatch.setenv("HOME", str(home))
    start = node("trigger.manual", "Start")
    raw = node("raw.request", "Raw", url="/v1/files", method="POST", response_type="text",
               file_data={"file": "~/.bashrc"}, form_data={"purpose": "assistants"})
    result = await run(flow("raw", [start, raw], [wire(start, raw)]), server, folder=tmp_path / "flows")
    assert result.status == "succeeded", result.error
    [request] = server.requests
    assert request.file_bytes["file"] == b"~/.bashrc"  # the text itself, as the file's content
    assert not sent_anything_containing(server, SECRET)

    named = node("raw.request", "Raw", url="/v1/files", method="POST", file_data={"file": {"path": "~/.bashrc"}},
                 form_data={"purpose": "assistants"})
    refused = await run(flow("raw", [start, named], [wire(start, named)]), server, folder=tmp_path / "flows",
                        trusted=False)
    assert refused.status == "failed" and "refused to read" in refused.node("Raw").error["message"]
    assert not sent_anything_containing(server, SECRET)
    assert os.environ["HOME"] == str(home)


def test_validation_messages_cut_long_values(tmp_path):
    start = node("trigger.manual", "Start")
    mcp = node("agent.add_local_mcp_server", "Tools", server_label="x", command="{{ trigger.a }}" + "x" * 100_000)
    path = save(flow("long", [start, mcp], [wire(start, mcp)]), tmp_path)
    checked = studio("validate", str(path))
    assert checked.returncode == 2
    assert "(100,015 characters)" in checked.stderr and len(checked.stderr) < 5_000


def test_a_remote_server_header_from_a_trigger_input_is_never_stored(server, tmp_path):
    """The trigger payload is the caller's own data, but what the node did with it (its resolved
    inputs and its output) keeps no credential header in the history, run.json or --json."""
    # Not a key: built from parts so that no secret scanner takes this file for a leak.
    token = "Bearer " + "-".join(("sk", "test", "FAKE", "mcp", "token", "from", "the", "trigger"))
    start = node("trigger.manual", "Start")
    remote = node("agent.add_remote_mcp_server", "Remote", server_label="r", server_url="https://mcp.example.com/mcp",
                  headers={"Authorization": "{{ trigger.token }}", "X-Team": "blue"})
    path = save(flow("headers", [start, remote], [wire(start, remote)]), tmp_path / "flows")
    ran = studio("run", str(path), "--trust", "--base-url", server.base_url, "--json", "--input", f"token={token}")
    assert ran.returncode == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert token not in json.dumps(document["nodes"]["Remote"])
    history = RunHistory()
    [record] = history.list_runs()
    [stored] = [n for n in history.get_run(record.run_id).nodes if n.node_name == "Remote"]
    assert stored.inputs["headers"] == {"Authorization": "[REDACTED]", "X-Team": "blue"}
    assert token not in json.dumps(stored.inputs) and token not in json.dumps(stored.output)
    run_json = json.loads((Path(document["run_dir"]) / "run.json").read_text())
    assert token not in json.dumps(run_json["result"]["nodes"]["Remote"])
    history.close()
