"""A real Redis for the queue-mode tests: Debian's redis-server, started on a free port in a temp
folder and stopped after (studio/queue/local_redis.py); the tests skip, saying so, where
redis-server is not installed. And the `studio serve` / `studio worker` subprocesses of a test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def redis_url():
    from studio.queue.local_redis import MISSING, available, local_redis

    if not available():
        pytest.skip(MISSING)
    with local_redis() as url:
        yield url


class Processes:
    """`studio serve --queue` and `studio worker` subprocesses, stopped at the end of a test."""

    def __init__(self, cwd: Path) -> None:
        self.cwd, self.procs = cwd, []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "studio.cli", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=self.cwd, env={**os.environ, **(env or {})})
        self.procs.append(proc)
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"studio {args[0]} stopped: {proc.stderr.read()[-2000:]}")
        proc.first_line = line
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop()
