"""The chat panel drives a real ChatSession: each message typed (Enter) runs the flow against the
fake OpenAI server, the reply appears as the next turn, earlier turns travel with the next run,
and a failed turn is shown inline and not kept."""

import pytest
from qtpy.QtCore import Qt

from studio.connectors.openai.client import ClientPool, ConnectionSettings
from studio.engine.executor import run_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.ui.chat_panel import ChatPanel, controller_runner


def chat_flow(reply_node: str = "Answer", welcome: str = "Hi! Ask me anything.") -> Flow:
    trigger = Node(action="trigger.chat", name="Chat", values={"reply_node": reply_node, "welcome_message": welcome})
    answer = Node(action="chat.create_completion", name="Answer",
                  values={"model": "gpt-4o-mini", "messages": "{{ trigger.messages }}", "stream": False})
    return Flow(name="Chat", nodes=[trigger, answer],
                wires=[Wire(source=Endpoint(node=trigger.id, port="output"), target=Endpoint(node=answer.id, port="in"))])


@pytest.fixture
def server():
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    with FakeOpenAIServer(latency_ms=50) as fake:
        yield fake


@pytest.fixture
def engine_run(server, run_async):
    """A run function on the fake server, as the main window would inject one; `key` can be changed."""
    pool = ClientPool()
    state = {"key": "sk-test", "calls": 0}

    async def connect(_name):
        return await pool.get(ConnectionSettings(api_key=state["key"], base_url=server.base_url, max_retries=0))

    async def run(flow, payload):
        state["calls"] += 1
        return await run_flow(flow, trigger_payload=payload, connect=connect)

    run.state = state
    yield run
    run_async(pool.aclose())


@pytest.fixture
def panel(qtbot, engine_run):
    p = ChatPanel(engine_run)
    qtbot.addWidget(p)
    p.resize(500, 400)
    p.show()
    qtbot.waitExposed(p)
    return p


def type_and_enter(qtbot, panel, text):
    qtbot.keyClicks(panel.input, text)
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)


def chat_bodies(server):
    return [r.json for r in server.requests if r.path.endswith("/chat/completions")]


def test_welcome_then_two_turns_with_history(panel, server, qtbot, run_async):
    panel.set_flow(chat_flow())
    assert panel.entries == [("welcome", "Hi! Ask me anything.")]
    assert "Hi! Ask me anything." in panel.transcript.toPlainText()
    busy = []
    panel.busy_changed.connect(busy.append)

    type_and_enter(qtbot, panel, "My name is Ada.")
    # while the flow runs: busy bar on, Send off, the message already shown
    assert panel.busy and panel.busy_bar.isVisible() and not panel.send_button.isEnabled()
    assert panel.input.text() == "" and panel.entries[-1] == ("user", "My name is Ada.")
    first = run_async(panel.wait())
    assert first and panel.entries[-1] == ("assistant", first)
    assert not panel.busy and not panel.busy_bar.isVisible() and panel.send_button.isEnabled()
    assert busy == [True, False]

    panel.input.setText("What is my name?")
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    second = run_async(panel.wait())
    assert [role for role, _ in panel.entries] == ["welcome", "user", "assistant", "user", "assistant"]
    assert panel.entries[-1] == ("assistant", second)
    text = panel.transcript.toPlainText()
    assert "My name is Ada." in text and "What is my name?" in text and second in text
    bodies = chat_bodies(server)
    assert len(bodies) == 2
    assert bodies[1]["messages"] == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "What is my name?"},
    ]
    assert [t.role for t in panel.session.turns] == ["user", "assistant", "user", "assistant"]


def test_empty_message_is_not_sent(panel, engine_run, qtbot):
    panel.set_flow(chat_flow())
    panel.input.setText("   ")
    assert not panel.send()
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)
    assert panel.task is None and engine_run.state["calls"] == 0


def test_a_failed_turn_shows_the_error_inline_and_is_not_kept(panel, server, engine_run, qtbot, run_async):
    server.invalid_keys.add("sk-bad")
    engine_run.state["key"] = "sk-bad"
    panel.set_flow(chat_flow())
    errors = []
    panel.error_shown.connect(errors.append)
    type_and_enter(qtbot, panel, "hello")
    assert run_async(panel.wait()) is None
    assert panel.entries[-1][0] == "error"
    assert "no reply: Answer failed" in panel.entries[-1][1] and "invalid API key" in panel.entries[-1][1]
    assert "Error:" in panel.transcript.toPlainText() and "sk-bad" not in panel.transcript.toPlainText()
    assert errors and panel.session.turns == []
    # the message is back in the box; with a good key it goes through
    assert panel.input.text() == "hello" and panel.send_button.isEnabled()
    engine_run.state["key"] = "sk-test"
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)
    reply = run_async(panel.wait())
    assert reply and [t.role for t in panel.session.turns] == ["user", "assistant"]


def test_a_missing_reply_node_is_named(panel, engine_run, qtbot, run_async):
    panel.set_flow(chat_flow(reply_node="Nope"))
    type_and_enter(qtbot, panel, "hi")
    run_async(panel.wait())
    assert panel.entries[-1][0] == "error" and "'Reply Node' names 'Nope'" in panel.entries[-1][1]
    assert engine_run.state["calls"] == 0


def test_a_run_function_that_raises_is_shown_not_lost(qtbot, run_async):
    async def broken(flow, payload):
        raise ConnectionError("engine went away")

    panel = ChatPanel(broken)
    qtbot.addWidget(panel)
    panel.set_flow(chat_flow())
    panel.input.setText("hi")
    assert panel.send()
    run_async(panel.wait())
    assert panel.entries[-1] == ("error", "the run failed: ConnectionError: engine went away")
    assert not panel.busy


def test_flow_without_chat_trigger_disables_input_and_edits_keep_the_conversation(panel, qtbot, run_async):
    manual = Flow(name="Plain", nodes=[Node(action="trigger.manual", name="Start")])
    panel.set_flow(manual)
    assert panel.session is None and not panel.input.isEnabled() and not panel.send_button.isEnabled()
    assert "no Chat trigger" in panel.header.text()
    flow = chat_flow()
    panel.set_flow(flow)
    assert panel.input.isEnabled()
    type_and_enter(qtbot, panel, "one")
    run_async(panel.wait())
    # an edit of the same flow keeps the turns and the session uses the edited flow
    edited = flow.model_copy(deep=True)
    edited.nodes[1].values["temperature"] = 0.5
    panel.set_flow(edited)
    assert len(panel.session.turns) == 2 and panel.session.flow.nodes[1].values["temperature"] == 0.5
    # New chat forgets them; another flow starts fresh too
    assert panel.new_button.isEnabled()
    qtbot.mouseClick(panel.new_button, Qt.MouseButton.LeftButton)
    assert panel.session.turns == [] and panel.entries == [("welcome", "Hi! Ask me anything.")]
    panel.set_flow(chat_flow(welcome=""))
    assert panel.entries == []


def test_controller_runner_runs_through_the_editors_run_controller(qtbot, server, run_async):
    from studio.catalog import load_catalog
    from studio.ui.bridge import RunController

    controller = RunController(load_catalog(), base_url=server.base_url, record_history=True)
    finished = []
    controller.finished.connect(finished.append)
    refused = []
    allowed = {"yes": False}

    def before_start(flow):
        refused.append(flow.name)
        return allowed["yes"]

    panel = ChatPanel(controller_runner(controller, before_start=before_start))
    qtbot.addWidget(panel)
    panel.set_flow(chat_flow())
    panel.input.setText("hello")
    panel.send()
    run_async(panel.wait())
    assert panel.entries[-1] == ("error", "the run was not started") and not finished
    allowed["yes"] = True
    panel.send()
    reply = run_async(panel.wait())
    assert reply and len(finished) == 1 and finished[0].status == "succeeded"
    assert chat_bodies(server)[-1]["messages"] == [{"role": "user", "content": "hello"}]
    from studio.history import RunHistory

    [recorded] = RunHistory().list_runs()  # labelled as a chat run, with the message it answered
    assert recorded.trigger == "chat" and recorded.payload["chatInput"] == "hello"


def test_the_windows_chat_dock_runs_the_document_through_the_editor(window, server, qtbot, run_async):
    window.runs.base_url = server.base_url
    flow = chat_flow()
    window.document.load(flow)
    window.refresh_side_panels()
    panel = window.chat_panel
    assert window.chat_dock.toggleViewAction().text() == "Chat"
    assert panel.entries == [("welcome", "Hi! Ask me anything.")]
    window.chat_dock.show()
    window.chat_dock.raise_()
    panel.input.setText("hello")
    assert panel.send()
    reply = run_async(panel.wait())
    assert reply and panel.entries[-1] == ("assistant", reply)
    # the run went through the editor: badges on the canvas
    assert {window.canvas.status(nid) for nid in window.document.node_ids()} == {"succeeded"}
