"""Which keyring counts as a system keyring. keyring's chainer of keyrings.cryptfile backends (what
`keyring.get_keyring()` returns on Linux without a Secret Service) is no system keyring: its file
backends ask for a password with getpass on a terminal, and its chain ends in PlaintextKeyring. The
store must say "no system keyring", never prompt on a terminal, and never write plain text."""

from __future__ import annotations

import getpass

import keyring
import keyring.core
import pytest

from studio.credentials import ConnectionRecord, ConnectionStore, CredentialError

KEY = "sk-test-detect-0123456789"


@pytest.fixture
def installed_keyring(monkeypatch):
    """Install the keyring PYTHON_KEYRING_BACKEND names, as keyring itself does at start-up,
    and put the previous one back afterwards; getpass fails the test if anything calls it."""
    previous = keyring.get_keyring()

    def install(name: str):
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
        keyring.core.init_backend()
        return keyring.get_keyring()

    def no_terminal_prompt(*_args, **_kwargs):
        raise AssertionError("getpass was called: a terminal prompt would freeze the editor")

    monkeypatch.setattr(getpass, "getpass", no_terminal_prompt)
    yield install
    keyring.set_keyring(previous)


def _files_with(root, text: str) -> list:
    return [p for p in root.rglob("*") if p.is_file() and text in p.read_text(errors="ignore")]


def test_chainer_of_file_backends_is_no_system_keyring(installed_keyring, tmp_path, _isolated_user_dirs):
    chainer = installed_keyring("keyring.backends.chainer.ChainerBackend")
    children = [type(b).__name__ for b in chainer.backends]
    assert "PlaintextKeyring" in children and "CryptFileKeyring" in children  # the real, dangerous chain
    store = ConnectionStore(tmp_path / "config")
    status = store.keyring_status()
    assert not status.available
    assert "no system keyring" in status.message.lower()
    assert "encrypted key file" in status.message and "OPENAI_API_KEY" in status.message
    with pytest.raises(CredentialError, match="(?i)no system keyring"):
        store.save(ConnectionRecord(name="work"), api_key=KEY)
    assert store.api_key("work") is None and not store.has_key("work")
    assert not _files_with(_isolated_user_dirs, KEY) and not _files_with(tmp_path, KEY)


@pytest.mark.parametrize("name", [
    "keyrings.cryptfile.file.PlaintextKeyring",
    "keyrings.cryptfile.file.EncryptedKeyring",
    "keyrings.cryptfile.cryptfile.CryptFileKeyring",
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
])
def test_file_null_and_fail_backends_are_no_system_keyring(installed_keyring, tmp_path, _isolated_user_dirs, name):
    installed_keyring(name)
    store = ConnectionStore(tmp_path / "config")
    status = store.keyring_status()
    assert not status.available, name
    assert "no system keyring" in status.message.lower()
    with pytest.raises(CredentialError):
        store.save(ConnectionRecord(name="work"), api_key=KEY)
    assert store.api_key("work") is None
    assert not _files_with(_isolated_user_dirs, KEY) and not _files_with(tmp_path, KEY)


def test_encrypted_file_never_asks_on_a_terminal(installed_keyring, tmp_path):
    """With the passphrase given (a Qt dialog in the editor) the file works; a store that was not
    given one refuses instead of prompting."""
    installed_keyring("keyring.backends.chainer.ChainerBackend")
    store = ConnectionStore(tmp_path)
    store.use_encrypted_file("correct horse battery")
    store.save(ConnectionRecord(name="work"), api_key=KEY)
    assert store.keyring_status().available and store.keyring_status().backend == "encrypted file"
    assert store.api_key("work") == KEY
    assert not _files_with(tmp_path, KEY)
    # the unlocked backend, locked again (as cryptfile does after a wrong passphrase), refuses
    del store._encrypted.keyring_key
    with pytest.raises(CredentialError, match="passphrase"):
        store._encrypted.get_password("flow-studio", "work")
