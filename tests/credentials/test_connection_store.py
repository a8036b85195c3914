"""Connections keep their key in a secret store only: the connections file never holds it, a
missing keyring is reported rather than replaced by plain text, and names resolve as documented."""

from __future__ import annotations

import json

import pytest

from keyring_testkit import MemoryKeyring
from studio.credentials import (
    SIMULATED, ConnectionRecord, ConnectionStore, CredentialError, resolve,
)

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def store(tmp_path):
    return ConnectionStore(tmp_path, keyring_backend=MemoryKeyring())


def test_saved_key_goes_to_the_keyring_and_never_to_the_file(store, tmp_path):
    store.save(ConnectionRecord(name="work", base_url="http://127.0.0.1:9/v1", organization="org-1"), api_key=KEY)
    text = (tmp_path / "connections.json").read_text()
    assert KEY not in text
    assert json.loads(text)["connections"][0]["name"] == "work"
    settings = resolve("work", store=store)
    assert settings.api_key == KEY
    assert settings.base_url == "http://127.0.0.1:9/v1"
    assert settings.organization == "org-1"
    assert KEY not in repr(settings) and KEY not in settings.model_dump_json()


def test_base_url_override_wins(store):
    store.save(ConnectionRecord(name="work"), api_key=KEY)
    assert resolve("work", base_url_override="http://127.0.0.1:1/v1", store=store).base_url == "http://127.0.0.1:1/v1"


def test_unknown_connection_names_it_and_the_known_ones(store):
    store.save(ConnectionRecord(name="work"), api_key=KEY)
    with pytest.raises(CredentialError, match=r"no connection named 'home' \(known: 'work'\)"):
        resolve("home", store=store)


def test_without_keyring_saving_a_key_is_refused_with_the_choices(tmp_path):
    from keyring.backends.null import Keyring as NullKeyring

    store = ConnectionStore(tmp_path, keyring_backend=NullKeyring())
    status = store.keyring_status()
    assert not status.available
    assert "encrypted key file" in status.message and "OPENAI_API_KEY" in status.message
    with pytest.raises(CredentialError, match="No system keyring"):
        store.save(ConnectionRecord(name="work"), api_key=KEY)
    assert not any(KEY in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())


def test_encrypted_file_keeps_the_key_encrypted_and_needs_the_passphrase(tmp_path):
    from keyring.backends.null import Keyring as NullKeyring

    store = ConnectionStore(tmp_path, keyring_backend=NullKeyring())
    store.use_encrypted_file("correct horse")
    store.save(ConnectionRecord(name="work"), api_key=KEY)
    assert store.keyring_status().available
    assert (tmp_path / "keys.cfg").exists()
    assert not any(KEY in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())

    reopened = ConnectionStore(tmp_path, keyring_backend=NullKeyring())
    assert reopened.api_key("work") is None  # locked until the passphrase is given
    reopened.use_encrypted_file("correct horse")
    assert reopened.api_key("work") == KEY
    with pytest.raises(CredentialError, match="passphrase"):
        ConnectionStore(tmp_path, keyring_backend=NullKeyring()).use_encrypted_file("wrong")


def test_environment_key_serves_the_default_connection(store, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    settings = resolve(None, store=store)
    assert (settings.name, settings.api_key, settings.base_url) == ("default", KEY, "http://127.0.0.1:2/v1")


def test_saved_connection_without_key_falls_back_to_the_environment(store, monkeypatch):
    store.save(ConnectionRecord(name="work"))
    with pytest.raises(CredentialError, match="connection 'work' has no API key"):
        resolve("work", store=store)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert resolve("work", store=store).api_key == KEY


def test_no_default_tells_what_to_do(store):
    with pytest.raises(CredentialError, match="OPENAI_API_KEY") as info:
        resolve(None, store=store)
    assert SIMULATED in str(info.value)
    store.save(ConnectionRecord(name="only"), api_key=KEY)
    assert resolve(None, store=store).name == "only"


def test_delete_removes_record_and_key(store):
    store.save(ConnectionRecord(name="work"), api_key=KEY)
    store.delete("work")
    assert store.list() == []
    assert store.api_key("work") is None


def test_a_damaged_connections_file_names_itself(tmp_path):
    (tmp_path / "connections.json").write_text("{not json")
    with pytest.raises(CredentialError, match="connections.json: cannot read saved connections"):
        ConnectionStore(tmp_path, keyring_backend=MemoryKeyring()).list()


def test_a_new_encrypted_file_needs_a_passphrase_of_eight_characters(tmp_path):
    from keyring.backends.null import Keyring as NullKeyring

    store = ConnectionStore(tmp_path, keyring_backend=NullKeyring())
    for short in ("x", "1234567"):
        with pytest.raises(CredentialError, match="at least 8 characters"):
            store.use_encrypted_file(short)
    assert not (tmp_path / "keys.cfg").exists()
    store.use_encrypted_file("12345678")
    store.save(ConnectionRecord(name="work"), api_key=KEY)
    assert (tmp_path / "keys.cfg").exists()
