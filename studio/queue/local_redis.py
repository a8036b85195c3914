"""A throwaway Redis on this machine: Debian's `redis-server` on a free loopback port with its
data in a temporary folder, stopped on exit. For the tests, `make bench` and trying queue mode
on one machine; a cluster uses its own Redis (docs/scale-out.md)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator

from studio.processes import stop_processes

MISSING = ("redis-server is not installed: queue mode needs a real Redis "
           "(Debian: apt-get install -y redis-server; `make test` tries to install it)")


def available() -> bool:
    return shutil.which("redis-server") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_redis(timeout_s: float = 10.0) -> Iterator[str]:
    """Start redis-server and yield its URL (redis://127.0.0.1:PORT/0); RuntimeError if it
    is not installed or does not answer within `timeout_s`."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(MISSING)
    from redis import Redis

    with tempfile.TemporaryDirectory(prefix="studio-redis-") as folder:
        port = _free_port()
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
                                 "--appendonly", "no", "--daemonize", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = Redis.from_url(url)
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    client.ping()
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not start on port {port}") from None
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            stop_processes(proc)
