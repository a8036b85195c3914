"""The Connections dialog on Linux without a keyring service: keyring offers its chainer of
keyrings.cryptfile backends (one of them PlaintextKeyring). The dialog must say there is no
system keyring, offer the encrypted key file (passphrase asked in a Qt dialog) and explain a
failed save; saving must never wait on a terminal prompt."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import textwrap

import keyring
import keyring.core
import pytest
from qtpy.QtCore import Qt

KEY = "sk-test-dialog-0123456789"
CHAINER = "keyring.backends.chainer.ChainerBackend"


@pytest.fixture
def chainer_keyring(monkeypatch):
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", CHAINER)
    keyring.core.init_backend()
    assert "PlaintextKeyring" in [type(b).__name__ for b in keyring.get_keyring().backends]

    def no_terminal_prompt(*_args, **_kwargs):
        raise AssertionError("getpass was called: a terminal prompt would freeze the editor")

    monkeypatch.setattr(getpass, "getpass", no_terminal_prompt)
    yield keyring.get_keyring()
    keyring.set_keyring(previous)


def _files_with(root, text):
    return [p for p in root.rglob("*") if p.is_file() and text in p.read_text(errors="ignore")]


def test_dialog_offers_the_encrypted_file_and_says_why_saving_failed(chainer_keyring, qtbot, tmp_path,
                                                                      monkeypatch, _isolated_user_dirs):
    from qtpy.QtWidgets import QInputDialog

    from studio.credentials import ConnectionStore
    from studio.ui.connections import ConnectionsDialog

    store = ConnectionStore(tmp_path / "config")
    dialog = ConnectionsDialog(store=store)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.encrypted_button.isVisible()
    assert "no system keyring" in dialog.keyring_label.text().lower()

    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.name_edit, "work")
    qtbot.keyClicks(dialog.key_edit, KEY)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    text = dialog.result.text()
    assert text.startswith("Not saved: ") and len(text) > len("Not saved: ") + 10, text
    assert "no system keyring" in text.lower() and "encrypted key file" in text
    assert dialog.encrypted_button.isVisible()

    asked = []

    def get_text(parent, title, label, echo=None, *args, **kwargs):
        asked.append((title, echo))
        return "correct horse battery", True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    qtbot.mouseClick(dialog.encrypted_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 2  # a new file: the passphrase, then again to confirm (Qt dialogs, not a terminal)
    assert all(echo == dialog.key_edit.EchoMode.Password for _title, echo in asked)
    assert not dialog.encrypted_button.isVisible()
    assert "encrypted file" in dialog.keyring_label.text()
    assert dialog.key_edit.text() == KEY  # the typed key is still there
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result.text() == "Saved 'work'.", dialog.result.text()
    assert store.api_key("work") == KEY
    assert (tmp_path / "config" / "keys.cfg").exists()
    assert not _files_with(tmp_path, KEY) and not _files_with(_isolated_user_dirs, KEY)


SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from qtpy.QtWidgets import QApplication
    app = QApplication([])
    from studio.credentials import ConnectionStore
    from studio.ui.connections import ConnectionsDialog
    folder = Path(sys.argv[1])
    dialog = ConnectionsDialog(store=ConnectionStore(folder))
    dialog.show()
    app.processEvents()
    dialog.new_button.click()
    dialog.name_edit.setText("work")
    dialog.key_edit.setText(sys.argv[2])
    dialog.save_button.click()
    app.processEvents()
    print(json.dumps({"saved": dialog.result.text(), "encrypted_button": dialog.encrypted_button.isVisible(),
                      "label": dialog.keyring_label.text(),
                      "backend": type(__import__("keyring").get_keyring()).__name__}))
""")


def test_saving_with_stdin_closed_never_blocks(tmp_path):
    """In a fresh process with the real chainer installed and no terminal input, Save answers at
    once with the reason, and no key lands in a file."""
    home = tmp_path / "home"
    env = dict(os.environ, PYTHON_KEYRING_BACKEND=CHAINER, QT_QPA_PLATFORM="offscreen", HOME=str(home),
               FLOW_STUDIO_HOME=str(home / "studio"), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"),
               XDG_CACHE_HOME=str(home / "cache"))
    env.pop("OPENAI_API_KEY", None)
    try:
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "connections"), KEY],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("saving a key waited for input (a terminal password prompt)")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["backend"] == "ChainerBackend"
    assert shown["encrypted_button"] is True
    assert shown["saved"].startswith("Not saved: ") and "no system keyring" in shown["saved"].lower(), shown
    assert "password" not in done.stderr.lower(), done.stderr  # no getpass prompt was written
    assert not _files_with(tmp_path, KEY)
