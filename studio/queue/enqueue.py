"""The serve side of queue mode: a `dispatch` for studio/runs/serve.py's `Server` that chooses the
run id and sends the run's job to the queue instead of running it."""

from __future__ import annotations

import asyncio
from typing import Any

from studio.flow.io import flow_to_dict
from studio.history.run_ids import new_run_id

from .app import make_app
from .jobs import QUEUE_NAME, TASK_NAME, RunJob


class Enqueuer:
    """`await enqueuer(served, payload, trigger)` queues one run and returns its id."""

    def __init__(self, url: str) -> None:
        self.app = make_app(url)
        self._flows: dict[int, dict[str, Any]] = {}

    def job(self, served: Any, payload: Any, trigger: str) -> RunJob:
        flow = self._flows.setdefault(id(served.flow), flow_to_dict(served.flow))
        return RunJob(run_id=new_run_id(), flow=flow, flow_path=served.path, trigger_node=served.trigger.id,
                      trigger=trigger, payload=payload)

    def send(self, job: RunJob) -> str:
        self.app.send_task(TASK_NAME, args=[job.to_message()], queue=QUEUE_NAME, task_id=job.run_id)
        return job.run_id

    async def __call__(self, served: Any, payload: Any, trigger: str) -> str:
        job = self.job(served, payload, trigger)
        return await asyncio.to_thread(self.send, job)  # the broker call blocks: keep the loop serving

    def close(self) -> None:
        self.app.close()
