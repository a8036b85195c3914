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
