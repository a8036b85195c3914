"""A real Redis for the queue-mode tests: Debian's redis-server, started on a free port in a temp
folder and stopped after (studio/queue/local_redis.py); the tests skip, saying so, where
redis-server is not installed. And the `studio serve` / `studio worker` subprocesses of a test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.processes import stop_processes


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
        stop_processes(*self.procs, grace_s=15)


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop()


def _pg_bin() -> Path | None:
    import glob
    import shutil

    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))  # Debian keeps them off the PATH
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture
def postgres_url():
    """A real PostgreSQL (Debian's postgresql package) in a temp folder on a free port; skipped
    with the reason where it is not installed. As root it runs as the `postgres` user (the server
    refuses root)."""
    import pwd
    import shutil
    import tempfile

    from studio.queue.local_redis import _free_port

    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install -y postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"
    def run(*args):
        done = subprocess.run([*as_user, *map(str, args)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{Path(str(args[0])).name} failed: {done.stderr[-1000:]}"

    try:
        run(bin_dir / "initdb", "-D", data, "-U", "studio", "--auth=trust", "-E", "UTF8")
        run(bin_dir / "pg_ctl", "-D", data, "-w", "-l", folder / "log", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        run(bin_dir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "studio", "studio")
        yield f"postgresql://studio@127.0.0.1:{port}/studio"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
