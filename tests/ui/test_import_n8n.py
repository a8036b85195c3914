"""File > Import > n8n workflow… in the real editor: the menu entry, the imported flow on the
canvas (placeholders drawn as unsupported), the report window, pins, and a clear refusal of
files that are not n8n workflows."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "n8n"


def _menu_path(window):
    file_menu = window.menuBar().actions()[0].menu()
    for action in file_menu.actions():
        if action.menu() is not None and action.menu().title() == "&Import":
            return [a.text() for a in action.menu().actions()]
    return None


def test_file_import_menu_opens_an_n8n_workflow_as_a_new_flow(window, qtbot, monkeypatch):
    from qtpy.QtWidgets import QFileDialog

    assert _menu_path(window) == ["&n8n workflow…"]
    chosen = str(FIXTURES / "real-world-telegram-bot.json")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (chosen, "")))
    window.act_import_n8n.trigger()
    flow = window.document.flow
    assert flow.name == "Telegram AI bot" and window.document.path is None  # unsaved: Save asks where
    names = {n.name for n in flow.nodes}
    assert {"Start", "Telegram Trigger", "Code", "OpenAI", "Google Sheets", "Send reply"} <= names
    # The report window lists what to do next.
    report = window.n8n_report.findChild(type(window.n8n_report.layout().itemAt(0).widget())).toPlainText()
    assert "placeholder(s) to replace" in report and "n8n-nodes-base.telegramTrigger" in report
    assert "set up a connection for n8n credential 'Telegram bot'" in report
    # Placeholders are drawn in the unsupported colour, others in their kind's.
    from studio.ui.theme import KIND_COLORS, hex_rgb

    views = window.canvas._views
    code = flow.node_by_name("Code")
    openai = flow.node_by_name("OpenAI")
    assert tuple(views[code.id].view.border_color[:3]) == hex_rgb(KIND_COLORS["unsupported"])
    assert tuple(views[openai.id].view.border_color[:3]) == hex_rgb(KIND_COLORS["action"])
    # pinData became a pinned output of the new flow.
    assert window.history_panel.history.pinned_outputs(flow.id) == {code.id: {"text": "Hello from a pin"}}


def test_a_file_that_is_not_an_n8n_workflow_is_refused_and_the_flow_stays(window, tmp_path):
    from studio.ui.import_n8n import import_n8n_file

    before = window.document.flow.id
    bad = tmp_path / "notes.json"
    bad.write_text('{"title": "not a workflow"}', encoding="utf-8")
    assert import_n8n_file(window, bad) is None
    assert window.asked and window.asked[-1][0] == "Cannot import" and "notes.json" in window.asked[-1][1]
    assert window.document.flow.id == before
