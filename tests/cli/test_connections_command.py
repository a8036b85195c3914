"""`studio connections list|add|remove|types` as a user runs it (a real subprocess): connections of
every catalog type, the secret read from stdin or an environment variable into the credential
store (never a file, never argv), clear usage errors naming the field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "tok-cli-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path):
    """A fresh user folder and an encrypted-file keyring stand-in: keyring's in-memory backends
    do not outlive a process, so a tiny file backend in a test module plays the OS keyring."""
    backend = tmp_path / "kr"
    backend.mkdir()
    (backend / "filekeyring.py").write_text(
        "import json, pathlib\n"
        "from keyring.backend import KeyringBackend\n"
        "class FileKeyring(KeyringBackend):\n"
        "    priority = 1\n"
        "    path = pathlib.Path(__file__).with_name('secrets.json')\n"
        "    def _all(self):\n"
        "        return json.loads(self.path.read_text()) if self.path.exists() else {}\n"
        "    def get_password(self, service, user):\n"
        "        return self._all().get(f'{service}/{user}')\n"
        "    def set_password(self, service, user, password):\n"
        "        d = self._all(); d[f'{service}/{user}'] = password; self.path.write_text(json.dumps(d))\n"
        "    def delete_password(self, service, user):\n"
        "        d = self._all(); d.pop(f'{service}/{user}', None); self.path.write_text(json.dumps(d))\n",
        encoding="utf-8")
    return tmp_path


def studio(home, *args, stdin="", extra_env=None):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env.update(FLOW_STUDIO_HOME=str(home / "studio"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(home / "kr")]),
               PYTHON_KEYRING_BACKEND="filekeyring.FileKeyring", **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "studio.cli", "connections", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)


def _saved(home):
    [path] = list(home.rglob("connections.json"))
    return {c["name"]: c for c in json.loads(path.read_text())["connections"]}


def _secrets(home):
    return json.loads((home / "kr" / "secrets.json").read_text())


def test_add_list_and_remove_connections_of_each_type(home):
    done = studio(home, "add", "crm", "--type", "http", "--set", "auth=header", "--set", "header_name=X-Api-Key",
                  "--secret-stdin", stdin=SECRET + "\n")
    assert done.returncode == 0, done.stderr
    assert "saved connection 'crm' [http]" in done.stdout
    done = studio(home, "add", "work", "--set", "base_url=http://127.0.0.1:9000/v1", "--secret-env", "MY_KEY",
                  extra_env={"MY_KEY": "sk-from-env-42"})
    assert done.returncode == 0, done.stderr
    saved = _saved(home)
    assert (saved["crm"]["type"], saved["crm"]["auth"], saved["crm"]["header_name"]) == ("http", "header", "X-Api-Key")
    assert (saved["work"]["type"], saved["work"]["base_url"]) == ("openai", "http://127.0.0.1:9000/v1")
    assert set(_secrets(home).values()) == {SECRET, "sk-from-env-42"}
    secretless = [p for p in home.rglob("*") if p.is_file() and p.name != "secrets.json"]
    assert not [p for p in secretless if SECRET in p.read_text(errors="ignore")]

    listed = studio(home, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)["connections"]}
    assert rows["crm"] == {"name": "crm", "type": "http", "has_secret": True,
                           "fields": {"auth": "header", "header_name": "X-Api-Key", "username": ""}}
    assert rows["work"]["fields"]["base_url"] == "http://127.0.0.1:9000/v1"
    text = studio(home, "list").stdout
    assert "crm  [http]  auth=header, header_name=X-Api-Key  (secret saved)" in text
    assert SECRET not in listed.stdout + text

    removed = studio(home, "remove", "crm")
    assert removed.returncode == 0 and "removed connection 'crm'" in removed.stdout
    assert set(_saved(home)) == {"work"} and SECRET not in _secrets(home).values()
    again = studio(home, "remove", "crm")
    assert again.returncode == 2 and "no connection named 'crm'" in again.stderr


@pytest.mark.parametrize("args,message", [
    (["add", "x", "--type", "http", "--set", f"api_key={SECRET}"], "give it with --secret-stdin or --secret-env"),
    (["add", "x", "--set", f"token={SECRET}"], "never on the command line"),
    (["add", "x", "--type", "ftp"], "unknown connection type 'ftp' (expected one of: openai, http)"),
    (["add", "x", "--type", "http", "--set", "auth=oauth"], "'Authentication' must be one of: bearer, header"),
    (["add", "x", "--set", "colour=red"], "has no field 'colour'"),
    (["add", "x", "--set", "base_url"], "expected KEY=VALUE"),
    (["add", "x", "--secret-env", "NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE: that environment variable is empty"),
    (["add", "x", "--secret-stdin"], "standard input held no secret"),
])
def test_bad_input_is_refused_naming_what_is_wrong_and_saves_nothing(home, args, message):
    done = studio(home, *args)
    assert done.returncode == 2
    assert message in done.stderr, done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert not list(home.rglob("connections.json"))


def test_types_lists_each_catalog_connection_type_and_its_fields(home):
    done = studio(home, "types")
    assert done.returncode == 0
    assert "http     HTTP Credentials: auth [bearer|header|query|basic], header_name, username, api_key (secret)" in done.stdout
    assert done.stdout.startswith("openai")
