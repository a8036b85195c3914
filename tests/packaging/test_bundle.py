"""Build the PyInstaller bundle and start it: `--version`, and `run` of an example flow against
the fake OpenAI server running as a separate process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "flow-studio.spec"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    pytest.importorskip("PyInstaller")
    work = tmp_path_factory.mktemp("pyinstaller")
    proc = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(work / "dist"), "--workpath", str(work / "build"), str(SPEC)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    exe = work / "dist" / "flow-studio" / ("flow-studio.exe" if os.name == "nt" else "flow-studio")
    assert exe.exists()
    return exe


def _env() -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("OPENAI_API_KEY", None)
    return env


def test_bundle_reports_its_version(bundle: Path):
    from studio.cli import _version

    out = subprocess.run([str(bundle), "--version"], capture_output=True, text=True, timeout=120, env=_env())
    assert out.returncode == 0, out.stderr
    assert _version() in out.stdout


def test_bundle_runs_an_example_flow_against_the_fake_server(bundle: Path, tmp_path: Path):
    server = subprocess.Popen(
        [sys.executable, "-m", "studio.connectors.openai.fake_server", "--port", "0"],
        stdout=subprocess.PIPE, text=True, env=_env(),
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/v1", line)
        assert match, f"fake server did not print its base URL: {line!r}"
        example = ROOT / "resources" / "examples" / "chat-then-moderation.flow.json"
        out = subprocess.run(
            [str(bundle), "run", str(example), "--base-url", match.group(0), "--json"],
            capture_output=True, text=True, timeout=300, env=_env(), cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr[-4000:]
        result = json.loads(out.stdout)
        assert result["status"] == "succeeded"
        assert all(node["status"] == "succeeded" for node in result["nodes"].values())
    finally:
        server.terminate()
        server.wait(timeout=10)
