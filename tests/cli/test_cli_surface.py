"""The command line follows the usual conventions: --help lists every subcommand, --version
comes from the package metadata, unknown commands and missing files exit 2 with a message."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

from studio.cli import main


def _studio(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_subcommand():
    done = _studio("--help")
    assert done.returncode == 0
    for command in ("gui", "run", "resume", "validate", "catalog", "schema", "serve", "connections"):
        assert f"    {command}" in done.stdout


def test_version_comes_from_the_package_metadata():
    done = _studio("--version")
    assert done.returncode == 0
    assert done.stdout.strip().endswith(version("flow-studio"))


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_run_of_a_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.flow.json"
    done = _studio("run", str(missing))
    assert done.returncode == 2
    assert str(missing) in done.stderr


def test_run_without_a_key_says_what_to_set_up(tmp_path):
    from studio.resources import examples_dir

    done = _studio("run", str(examples_dir() / "raw-request.flow.json"))
    assert done.returncode == 2
    assert "the default connection" in done.stderr and "OPENAI_API_KEY" in done.stderr
    assert "Simulated (offline)" in done.stderr
    assert "Traceback" not in done.stderr
