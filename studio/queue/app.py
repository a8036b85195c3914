"""The Celery app of queue mode, for one Redis broker URL. Tasks are acknowledged only after the
run is recorded (`acks_late`), and a task whose worker process died is put back
(`reject_on_worker_lost`); a worker killed outright leaves its message unacknowledged in Redis,
which another worker restores after `visibility_timeout` seconds."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from celery import Celery

from .jobs import QUEUE_NAME

VISIBILITY_ENV = "FLOW_STUDIO_QUEUE_VISIBILITY_S"
DEFAULT_VISIBILITY_S = 60.0
"""Seconds after which a message a dead worker took is handed to another worker. A run longer
than this is not run twice: its lease (worker.py) tells the new worker it is still alive."""


def check_url(url: str) -> str:
    """The broker URL, or ValueError saying what is expected."""
    parsed = urlparse(url or "")
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise ValueError(f"--queue {url!r}: expected a Redis URL such as redis://HOST:6379/0")
    return url


def visibility_timeout() -> float:
    text = os.environ.get(VISIBILITY_ENV)
    try:
        value = float(text) if text else DEFAULT_VISIBILITY_S
    except ValueError:
        raise ValueError(f"{VISIBILITY_ENV}={text!r}: expected a number of seconds") from None
    return max(value, 1.0)


def make_app(url: str) -> Celery:
    """A Celery app on the Redis at `url` with the run task registered (studio/queue/tasks.py)."""
    check_url(url)
    visibility = visibility_timeout()
    app = Celery("studio", broker=url, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_backend=None, task_ignore_result=True,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=QUEUE_NAME, broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        broker_transport_options={
            "visibility_timeout": visibility,
            # look for dead workers' messages often enough for the timeout to mean what it says
            "unacked_restore_interval": max(1, int(visibility / 4)), "unacked_restore_throttle": 1,
        },
    )
    from .tasks import register

    register(app)
    return app
