"""The Connections dialog makes connections of every catalog connection type: the form is
generated from the type's declared fields, an HTTP Credentials connection saves as type "http"
(its secret only in the credential store), stays "http" when edited, and is tested against a URL
on a loopback server that checks the credentials it was sent."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from qtpy.QtCore import Qt

from keyring_testkit import MemoryKeyring

SECRET = "tok-http-dialog-0123456789"


@pytest.fixture
def api():
    """An API on loopback that answers 200 only to the header X-Api-Key: SECRET."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append({k.lower(): v for k, v in self.headers.items()})
            ok = self.headers.get("X-Api-Key") == SECRET
            body = json.dumps({"ok": ok}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/me", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def dialog(qtbot, tmp_path):
    from studio.credentials import ConnectionStore
    from studio.ui.connections import ConnectionsDialog

    store = ConnectionStore(tmp_path / "config", keyring_backend=MemoryKeyring())
    dlg = ConnectionsDialog(store=store)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def _choose_type(dialog, title):
    index = dialog.type_box.findText(title)
    assert index >= 0, [dialog.type_box.itemText(i) for i in range(dialog.type_box.count())]
    dialog.type_box.setCurrentIndex(index)


def _labels(dialog):
    form = dialog.fields_form
    return [form.itemAt(i, form.ItemRole.LabelRole).widget().text() for i in range(form.rowCount())]


def test_every_catalog_connection_type_is_offered_with_its_declared_fields(dialog, qtbot):
    from studio.catalog import load_catalog

    types = load_catalog().connections
    assert [dialog.type_box.itemText(i) for i in range(dialog.type_box.count())] == [t.title for t in types]
    for ctype in types:
        qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
        _choose_type(dialog, ctype.title)
        assert _labels(dialog) == [f.label + (" *" if f.required else "") for f in ctype.fields]
        for spec in ctype.fields:
            edit = dialog.field_edits[spec.key]
            if spec.secret:
                assert edit is dialog.key_edit and edit.echoMode() == edit.EchoMode.Password
            if spec.options:
                assert [edit.itemText(i) for i in range(edit.count())] == spec.options
                assert edit.currentText() == spec.default
    assert dialog.test_url_edit.isVisible()  # HTTP Credentials have no built-in test: a URL is asked


def test_http_connection_is_created_edited_and_tested_with_its_secret_only_in_the_store(dialog, qtbot, api,
                                                                                          tmp_path):
    url, seen = api
    store = dialog.store
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.name_edit, "crm")
    _choose_type(dialog, "HTTP Credentials")
    dialog.field_edits["auth"].setCurrentText("header")
    dialog.field_edits["header_name"].clear()
    qtbot.keyClicks(dialog.field_edits["header_name"], "X-Api-Key")
    qtbot.keyClicks(dialog.key_edit, SECRET)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result.text() == "Saved 'crm'.", dialog.result.text()
    record = store.get("crm")
    assert (record.type, record.auth, record.header_name) == ("http", "header", "X-Api-Key")
    assert store.api_key("crm") == SECRET
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and SECRET in p.read_text(errors="ignore")]
    assert dialog.key_edit.text() == ""
    assert "crm  [HTTP Credentials]" in [dialog.list.item(i).text() for i in range(dialog.list.count())]

    # Test: the saved secret is sent as the header to the typed URL.
    qtbot.keyClicks(dialog.test_url_edit, url)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result.text().startswith(("✔", "✘")), timeout=20000)
    assert dialog.result.text() == f"✔ {url} answered HTTP 200 with these credentials"
    assert seen[-1]["x-api-key"] == SECRET
    # A wrong secret typed over it fails, naming the status, never the secret.
    qtbot.keyClicks(dialog.key_edit, "wrong")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result.text().startswith(("✔", "✘")) and "401" in dialog.result.text(),
                    timeout=20000)
    assert "wrong" not in dialog.result.text() and SECRET not in dialog.result.text()
    dialog.key_edit.clear()

    # Edit: select another entry and come back; the form shows the HTTP fields, saving keeps "http".
    dialog.reload(select=dialog.credentials.SIMULATED)
    assert dialog.type_box.currentText() == "OpenAI API Key" and not dialog.save_button.isEnabled()
    dialog.reload(select="crm")
    assert dialog.type_box.currentText() == "HTTP Credentials"
    assert dialog.field_value("auth") == "header" and dialog.field_value("header_name") == "X-Api-Key"
    dialog.field_edits["auth"].setCurrentText("query")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    record = store.get("crm")
    assert (record.type, record.auth, record.header_name) == ("http", "query", "X-Api-Key")
    assert store.api_key("crm") == SECRET  # an empty secret field keeps the saved secret

    qtbot.waitUntil(lambda: all(e.isVisible() for e in dialog.field_edits.values()))  # shown by the event loop
    shots = Path(os.environ.get("FLOW_STUDIO_SHOTS", tmp_path))
    assert dialog.grab().save(str(shots / "connections-http.png"))


def test_openai_connection_still_saves_as_openai_and_bad_fields_are_refused(dialog, qtbot):
    store = dialog.store
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.name_edit, "work")
    _choose_type(dialog, "OpenAI API Key")
    qtbot.keyClicks(dialog.key_edit, "sk-test-0123")
    qtbot.keyClicks(dialog.url_edit, "http://127.0.0.1:1234/v1")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    record = store.get("work")
    assert (record.type, record.base_url, record.auth) == ("openai", "http://127.0.0.1:1234/v1", "api_key")
    assert not dialog.test_url_edit.isVisible()
    # A basic-auth HTTP connection without a secret saves, and says the secret is missing.
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.name_edit, "intranet")
    _choose_type(dialog, "HTTP Credentials")
    dialog.field_edits["auth"].setCurrentText("basic")
    qtbot.keyClicks(dialog.field_edits["username"], "ann")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result.text() == "Saved 'intranet'. It has no Secret yet."
    assert (store.get("intranet").type, store.get("intranet").username) == ("http", "ann")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.result.text().startswith("Cannot test: type the secret")
