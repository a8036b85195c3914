"""The one Celery task: run a queued job in this worker (studio/queue/worker.py). Acknowledged
late and rejected when its worker is lost, so a run is never dropped with a dead worker; a
worker that cannot reach the history or Redis tries the run again later instead of dropping it."""

from __future__ import annotations

import logging
from typing import Any

from .jobs import TASK_NAME, RunJob

log = logging.getLogger("studio.worker")

INFRA_RETRY_S = 5.0
INFRA_RETRIES = 60  # five minutes of an unreachable store or Redis before the run is given up


def register(app: Any) -> None:
    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def run_flow(self: Any, message: dict[str, Any]) -> str:
        from .worker import LeaseHeld, current

        try:
            RunJob.from_message(message)
        except ValueError as exc:  # nothing to run: say so once, do not retry
            log.error("dropped a queued message that is not a run: %s", exc)
            return "rejected"
        try:
            return current().execute(message)
        except LeaseHeld as held:  # another worker runs it now: look again once its lease could expire
            raise self.retry(countdown=held.retry_in, max_retries=None) from None
        except Exception as exc:  # noqa: BLE001 - the store or Redis is unreachable: the run waits, not lost
            log.warning("run %s: %s: %s; trying again in %.0f s", message.get("run_id"), type(exc).__name__,
                        str(exc)[:200], INFRA_RETRY_S)
            raise self.retry(exc=exc, countdown=INFRA_RETRY_S, max_retries=INFRA_RETRIES) from None
