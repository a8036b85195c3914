"""The one Celery task: run a queued job in this worker (studio/queue/worker.py). Acknowledged
late and rejected when its worker is lost, so a run is never dropped with a dead worker."""

from __future__ import annotations

from typing import Any

from .jobs import TASK_NAME


def register(app: Any) -> None:
    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def run_flow(self: Any, message: dict[str, Any]) -> str:
        from .worker import LeaseHeld, current

        try:
            return current().execute(message)
        except LeaseHeld as held:  # another worker runs it now: look again once its lease could expire
            raise self.retry(countdown=held.retry_in, max_retries=None) from None
