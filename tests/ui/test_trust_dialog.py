"""An imported flow that would start a local process or open a port asks before its first run,
showing the exact program and arguments; Cancel starts nothing, "Trust and run" is remembered for
those bytes; the user's own files and flows that start nothing never ask."""

import asyncio
import subprocess

import pytest
from qtpy.QtCore import Qt, QTimer

from studio.credentials.trust import TrustStore
from studio.flow.io import dump_flow, save_flow
from studio.flow.models import Endpoint, Flow, Node, Position, Wire
from studio.ui import trust_dialog
from studio.ui.trust_dialog import TrustDialog, ensure_trusted, trust_items

ARGS = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp/shared folder"]


def mcp_flow(disabled: bool = False) -> Flow:
    start = Node(action="trigger.manual", name="Start", position=Position(x=0, y=0))
    mcp = Node(action="agent.add_local_mcp_server", name="Files MCP", position=Position(x=300, y=0), disabled=disabled,
               values={"server_label": "files", "command": "npx", "args": list(ARGS)})
    return Flow(name="Imported helper", nodes=[start, mcp],
                wires=[Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=mcp.id, port="in"))])


@pytest.fixture
def store(tmp_path):
    return TrustStore(tmp_path / "trusted.json")


@pytest.fixture
def nothing_starts(monkeypatch):
    """Any attempt to start a process fails the test loudly and is recorded."""
    started = []

    def refuse(*args, **kwargs):
        started.append(args)
        raise AssertionError(f"a process was started: {args!r}")

    async def refuse_async(*args, **kwargs):
        refuse(*args)

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse_async)
    monkeypatch.setattr(asyncio, "create_subprocess_shell", refuse_async)
    return started


def answer(qtbot, button: str, seen: list):
    """A `decide` that looks at the real dialog and clicks one of its buttons."""

    def decide(dialog: TrustDialog) -> bool:
        qtbot.addWidget(dialog)
        dialog.show()
        seen.append({"items": dialog.items, "text": dialog.text(),
                     "rows": [dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())]})
        target = dialog.trust_button if button == "trust" else dialog.cancel_button
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)
        return dialog.result() == TrustDialog.DialogCode.Accepted

    return decide


def test_imported_mcp_flow_asks_showing_the_exact_command(qtbot, tmp_path, store, nothing_starts):
    flow = mcp_flow()
    path = tmp_path / "helper.flow.json"
    save_flow(flow, path)  # as if it came from someone else: not remembered as our own
    data = path.read_bytes()
    seen = []
    assert ensure_trusted(None, flow, data, store=store, decide=answer(qtbot, "cancel", seen)) is False
    [shown] = seen
    [item] = shown["items"]
    assert item.node_name == "Files MCP" and item.kind == "process"
    assert item.program == "npx" and item.args == ARGS
    assert item.command_line == "npx -y @modelcontextprotocol/server-filesystem '/tmp/shared folder'"
    row = shown["rows"][0]
    assert row.text(0) == "Files MCP" and row.text(2) == "npx" and "'/tmp/shared folder'" in row.text(3)
    assert [row.child(i).text(2) for i in range(row.childCount())] == ARGS  # each argument, exactly
    assert "arguments: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp/shared folder']" in shown["text"]
    assert not store.is_trusted(data)  # Cancel is not remembered: it asks again
    assert nothing_starts == []

    seen.clear()
    assert ensure_trusted(None, flow, data, store=store, decide=answer(qtbot, "trust", seen)) is True
    assert len(seen) == 1 and store.is_trusted(data)
    # the same bytes never ask again, even from a new store on the same file (a restart)
    def must_not_ask(dialog):
        raise AssertionError("asked again for trusted bytes")

    assert ensure_trusted(None, flow, data, store=TrustStore(store.path), decide=must_not_ask) is True
    # a changed file asks again
    seen.clear()
    assert ensure_trusted(None, flow, data + b"\n", store=store, decide=answer(qtbot, "cancel", seen)) is False
    assert len(seen) == 1
    assert nothing_starts == []


def test_a_flow_created_on_this_machine_does_not_ask(store):
    flow = mcp_flow()
    data = dump_flow(flow).encode()
    store.remember_own(data)

    def must_not_ask(dialog):
        raise AssertionError("asked for the user's own flow")

    assert ensure_trusted(None, flow, data, store=store, decide=must_not_ask) is True


def test_flows_that_start_nothing_never_ask(store):
    def must_not_ask(dialog):
        raise AssertionError("asked for a flow that starts nothing")

    plain = Flow(name="Plain", nodes=[Node(action="trigger.manual", name="Start"),
                                      Node(action="chat.create_completion", name="Chat")])
    assert ensure_trusted(None, plain, b"{}", store=store, decide=must_not_ask) is True
    assert ensure_trusted(None, mcp_flow(disabled=True), b"{}", store=store, decide=must_not_ask) is True
    assert not store.path.exists()  # nothing was remembered either


def test_webhook_shows_the_endpoint_and_content_without_a_file_always_asks(qtbot, store):
    hook = Node(action="trigger.webhook", name="Orders", values={"method": "PUT", "path": "/hooks/orders"})
    flow = Flow(name="Hook", nodes=[hook])
    [item] = trust_items(flow)
    assert item.kind == "port" and item.endpoint == "PUT /hooks/orders on 127.0.0.1"
    seen = []
    assert ensure_trusted(None, flow, None, store=store, decide=answer(qtbot, "trust", seen)) is True
    assert ensure_trusted(None, flow, None, store=store, decide=answer(qtbot, "trust", seen)) is True
    assert len(seen) == 2 and not store.path.exists()  # nothing to remember it by


def test_the_real_modal_dialog_defaults_to_cancel(qtbot, store, monkeypatch):
    flow = mcp_flow()
    data = dump_flow(flow).encode()
    dialogs = []

    def press_enter():
        dialog = dialogs[0]
        assert dialog.isVisible() and dialog.cancel_button.isDefault() and not dialog.trust_button.isDefault()
        qtbot.keyClick(dialog, Qt.Key.Key_Return)

    real = trust_dialog.default_decide

    def decide(dialog):
        dialogs.append(dialog)
        QTimer.singleShot(0, press_enter)
        return real(dialog)  # the modal exec() the editor uses

    monkeypatch.setattr(trust_dialog, "default_decide", decide)
    assert ensure_trusted(None, flow, data, store=store) is False
    assert dialogs and not store.is_trusted(data)

    def click_trust():
        dialogs[-1].trust_button.click()

    def decide_trust(dialog):
        dialogs.append(dialog)
        QTimer.singleShot(0, click_trust)
        return real(dialog)

    monkeypatch.setattr(trust_dialog, "default_decide", decide_trust)
    assert ensure_trusted(None, flow, data, store=store) is True and store.is_trusted(data)


# -- in the main window ---------------------------------------------------------------------------------


@pytest.fixture
def decisions(monkeypatch):
    """Answers the window's trust dialogs: append True/False before the run; records what was shown."""
    state = {"answers": [], "shown": []}

    def decide(dialog):
        state["shown"].append(dialog.text())
        if not state["answers"]:
            raise AssertionError("the trust dialog was shown without an expected answer")
        return state["answers"].pop(0)

    monkeypatch.setattr(trust_dialog, "default_decide", decide)
    return state


def test_opening_an_imported_flow_runs_nothing_and_cancel_starts_nothing(window, tmp_path, decisions, nothing_starts):
    path = tmp_path / "imported.flow.json"
    save_flow(mcp_flow(), path)
    started = []
    window.runs.started.connect(started.append)
    assert window.open_file(path)
    assert decisions["shown"] == [] and not window.runs.running and started == []  # opening asked nothing, ran nothing
    decisions["answers"] = [False]
    assert window.run_flow() is False
    assert "npx -y @modelcontextprotocol/server-filesystem '/tmp/shared folder'" in decisions["shown"][0]
    assert not window.runs.running and window.runs.task is None and started == []
    assert "not trusted" in window.statusBar().currentMessage()
    assert nothing_starts == []
    assert not TrustStore().is_trusted(path.read_bytes())


def test_trust_and_run_is_remembered_for_the_file(window, tmp_path, decisions, run_async, monkeypatch):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = tmp_path / "imported.flow.json"
    save_flow(mcp_flow(), path)
    assert window.open_file(path)
    decisions["answers"] = [True]
    with FakeOpenAIServer(latency_ms=0) as server:
        window.runs.base_url = server.base_url
        assert window.run_flow()
        result = run_async(window.runs.wait())
    # the MCP node only describes the server (it is started by an agent that uses it)
    assert result.status == "succeeded", result.error
    assert TrustStore().is_trusted(path.read_bytes())
    # reopened (a new session): the same bytes do not ask again
    window.document.load(Flow())
    assert window.open_file(path)
    assert window.check_trust() and len(decisions["shown"]) == 1


def test_a_flow_saved_here_is_own_but_saving_untrusted_content_is_not(window, tmp_path, decisions):
    # made here: a new flow with a local MCP server, saved: never asks, and the file is our own
    window.canvas.add_action("trigger.manual", (0, 0))
    mcp = window.canvas.add_action("agent.add_local_mcp_server", (300, 0))
    window.document.set_node_value(mcp, "server_label", "files")
    mine = tmp_path / "mine.flow.json"
    assert window._write(mine)
    assert TrustStore().is_trusted(mine.read_bytes())
    assert window.check_trust() and decisions["shown"] == []
    # imported, not trusted, saved again here: still not our own
    theirs = tmp_path / "theirs.flow.json"
    save_flow(mcp_flow(), theirs)
    assert window.open_file(theirs)
    copy = tmp_path / "copy.flow.json"
    assert window._write(copy)
    assert not TrustStore().is_trusted(copy.read_bytes())
    decisions["answers"] = [False]
    assert not window.check_trust() and len(decisions["shown"]) == 1


def test_importing_nodes_that_start_a_process_needs_trust(window, tmp_path, decisions):
    theirs = tmp_path / "theirs.flow.json"
    save_flow(mcp_flow(), theirs)
    window.canvas.add_action("chat.create_completion", (0, 0))  # made here: starts nothing
    assert window.check_trust()
    assert window.import_file(theirs)
    decisions["answers"] = [False]
    assert not window.check_trust()
    assert "Files MCP" in decisions["shown"][0]


def test_the_dialog_lists_files_outside_the_folder_and_hosts_by_where_they_lead(qtbot, store, tmp_path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("private")
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "link.txt").symlink_to(outside)
    start = Node(action="trigger.manual", name="Start")
    upload = Node(action="file.upload", name="Upload", values={"file": "link.txt", "purpose": "assistants"})
    inside = Node(action="file.upload", name="Inside", values={"file": "data/x.txt", "purpose": "assistants"})
    remote = Node(action="agent.add_remote_mcp_server", name="Remote",
                  values={"server_label": "r", "server_url": "https://mcp.example.com/t/{{ trigger.t }}"})
    flow = Flow(name="Reads", nodes=[start, upload, inside, remote], wires=[])
    seen: list = []
    assert not ensure_trusted(None, flow, b"reads", store=store, decide=answer(qtbot, "cancel", seen),
                              flow_dir=folder)
    [shown] = seen
    assert [(i.node_name, i.kind, i.endpoint) for i in shown["items"]] == [
        ("Upload", "file", str(outside)), ("Remote", "host", "https://mcp.example.com")]
    assert shown["rows"][0].text(1) == "reads a file" and shown["rows"][1].text(1) == "connects to"
