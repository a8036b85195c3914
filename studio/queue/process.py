"""The `studio worker` process: a Celery worker (threads pool, one slot per concurrent run)
consuming the run queue, each task handed to this process's `Worker` (worker.py)."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from .app import make_app
from .jobs import QUEUE_NAME
from .worker import Worker, WorkerSettings, install

def run_worker(settings: WorkerSettings, *, concurrency: int = 1) -> int:
    """`studio worker`: consume queued runs until SIGTERM/SIGINT (runs in flight finish first)."""
    if concurrency < 1:
        raise ValueError(f"--concurrency must be 1 or more, not {concurrency}")
    app = make_app(settings.queue_url)
    worker = Worker(settings)
    install(worker)
    print(f"worker consuming {QUEUE_NAME} on {_redacted(settings.queue_url)} with {concurrency} slot(s)", flush=True)
    app.worker_main(["worker", "--pool", "threads", "--concurrency", str(concurrency), "--queues", QUEUE_NAME,
                     "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
                     "--hostname", f"studio-{os.getpid()}@%h"])
    worker.close()
    return 0


def _redacted(url: str) -> str:
    """The broker URL without its password, for the log."""
    password = urlparse(url).password
    return url.replace(f":{password}@", ":***@") if password else url
