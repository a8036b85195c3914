"""The Manual trigger's typed input form: one editor per declared field with its default (or the
flow's saved example), and the typed values become the run's trigger payload."""

from __future__ import annotations

from qtpy.QtWidgets import QCheckBox, QDoubleSpinBox, QLineEdit, QPlainTextEdit, QSpinBox

from studio.flow.models import Flow, Node
from studio.ui.run_inputs import RunInputsForm


def _flow(settings=None) -> Flow:
    trigger = Node(action="trigger.manual", name="Start", values={"fields": [
        {"name": "topic", "label": "Topic", "type": "string", "default": "tide pools"},
        {"name": "count", "type": "integer", "default": 3},
        {"name": "temperature", "type": "number", "default": 0.5},
        {"name": "loud", "type": "boolean", "default": False},
        {"name": "extra", "type": "json", "default": {"a": 1}},
    ]})
    return Flow(nodes=[trigger], settings=settings or {})


def test_one_typed_editor_per_field_with_its_default(qtbot):
    form = RunInputsForm()
    qtbot.addWidget(form)
    form.set_flow(_flow())
    kinds = {name: type(editor) for name, (_k, editor) in form.editors.items()}
    assert kinds == {"topic": QLineEdit, "count": QSpinBox, "temperature": QDoubleSpinBox, "loud": QCheckBox,
                     "extra": QPlainTextEdit}
    assert form.payload() == {"topic": "tide pools", "count": 3, "temperature": 0.5, "loud": False,
                              "extra": {"a": 1}}


def test_typed_values_are_the_payload_and_bad_json_is_named(qtbot):
    form = RunInputsForm()
    qtbot.addWidget(form)
    form.set_flow(_flow(settings={"example_inputs": {"topic": "coral"}}))
    assert form.payload()["topic"] == "coral"  # the flow's saved example wins over the default
    form.editors["count"][1].setValue(7)
    form.editors["loud"][1].setChecked(True)
    form.editors["extra"][1].setPlainText("{broken")
    payload = form.payload()
    assert payload["count"] == 7 and payload["loud"] is True and "extra" not in payload
    assert form.errors["extra"].startswith("extra: not valid JSON (line 1")


def test_no_fields_says_so(qtbot):
    form = RunInputsForm()
    qtbot.addWidget(form)
    form.set_flow(Flow(nodes=[Node(action="trigger.manual", name="Start")]))
    assert form.editors == {} and form.payload() == {}


def test_the_window_runs_with_the_typed_inputs(window, run_async):
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.resources import examples_dir

    assert window.open_file(examples_dir() / "chat-then-moderation.flow.json")
    window.refresh_side_panels()
    window.run_inputs.editors["topic"][1].setText("sea otters")
    window.refresh_side_panels()  # an unrelated refresh keeps what was typed
    assert window.run_inputs.payload() == {"topic": "sea otters"}
    with FakeOpenAIServer(latency_ms=0) as server:
        window.runs.base_url = server.base_url
        assert window.run_flow()
        result = run_async(window.runs.wait())
        chat = [r.json for r in server.requests if r.path.endswith("/chat/completions")]
    assert result.status == "succeeded", result.error
    assert chat[0]["messages"][-1]["content"] == "Write about sea otters."
