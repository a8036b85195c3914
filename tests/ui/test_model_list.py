"""The Model field's list comes from the selected connection's List Models, fetched once and then
served from the cache; here through the real credential path on the Simulated connection."""

from __future__ import annotations

from studio.credentials import SIMULATED


def test_models_are_fetched_from_the_connection_once(qtbot):
    from studio.connectors.openai.simulated import ensure_simulated_server, simulated_server
    from studio.ui.panel.models_source import ModelSource

    base_url = ensure_simulated_server()
    server = simulated_server()
    source = ModelSource()
    with qtbot.waitSignal(source.models_ready, timeout=20_000) as got:
        source.request(SIMULATED)
    connection, ids = got.args
    assert connection == SIMULATED and "gpt-4o-mini" in ids and ids == sorted(ids)
    before = len(server.requests_to("/models"))
    assert before >= 1
    with qtbot.waitSignal(source.models_ready, timeout=1_000) as again:
        source.request(SIMULATED)
    assert again.args[1] == ids
    assert len(server.requests_to("/models")) == before  # served from the cache
    assert base_url.startswith("http://127.0.0.1:")


def test_a_connection_without_a_key_reports_why(qtbot):
    from studio.ui.panel.models_source import ModelSource

    source = ModelSource()
    with qtbot.waitSignal(source.failed, timeout=20_000) as got:
        source.request("nobody")
    assert got.args[0] == "nobody" and "no connection named 'nobody'" in got.args[1]


def test_a_node_on_the_default_connection_lists_the_models_of_run_on(window, qtbot):
    from studio.resources import examples_dir

    assert window.open_file(examples_dir() / "chat-then-moderation.flow.json")
    window.run_on.setCurrentIndex(window.run_on.findData(SIMULATED))
    write = window.document.flow.node_by_name("Write").id
    with qtbot.waitSignal(window.context.model_source.models_ready, timeout=20_000) as got:
        window.canvas.select([write])
    assert got.args[0] == SIMULATED
    assert window.context.current_connection == SIMULATED
