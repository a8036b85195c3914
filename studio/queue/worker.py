"""The worker side of queue mode (`studio worker`): run one queued job through the run service,
recorded once per run id in the shared history whatever happens to the message.

A message may arrive more than once (late acknowledgement: a worker that died mid-run never
acknowledged it). So before running, the worker takes the run's lease in Redis: held means
another worker is running it now (retry later); then the history says whether it already
ended (acknowledge, record nothing). A run found 'running' with no lease was lost with its
worker: it runs again under the same id (its row is replaced, not added), up to `max_attempts`,
after which it is recorded as cancelled with the reason. Its row is marked as the queue's, so no
other process's start-up recovery closes it in between (which would make the next delivery find
it ended and never run it again)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from studio.catalog import load_catalog
from studio.flow.io import FlowLoadError, dump_flow, flow_from_dict
from studio.history import RunStore, open_store
from studio.history.storage import is_final
from studio.runs.connections import Connector, UsageError, connection_names
from studio.runs.prepare import trust_problem
from studio.runs.service import start_run

from .jobs import RunJob
from .limits import ConnectionSlots, RunLease, keep_alive

log = logging.getLogger("studio.worker")

ATTEMPTS_KEY = "studio:run:{run_id}:attempts"
LEASE_ENV = "FLOW_STUDIO_QUEUE_LEASE_S"


def lease_seconds() -> float:
    """How long a run's lease outlives its worker (refreshed every third of it while alive)."""
    text = os.environ.get(LEASE_ENV)
    try:
        value = float(text) if text else 10.0
    except ValueError:
        raise ValueError(f"{LEASE_ENV}={text!r}: expected a number of seconds") from None
    return max(value, 0.5)


@dataclass
class WorkerSettings:
    queue_url: str
    base_url: str | None = None
    trust: bool = False
    history_url: str | None = None
    max_per_connection: int | None = None  # concurrent runs per connection name, across all workers
    lease_s: float = 10.0
    max_attempts: int = 3


class LeaseHeld(Exception):
    """Another worker is running this run now; try the message again later."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"the run is held by another worker; retry in {retry_in:.0f} s")
        self.retry_in = retry_in


class _QueuedRuns:
    """The store as a worker records its runs: each start marked `queued`, so that if this worker
    dies, no other process's start-up recovery closes the run before the queue delivers it again."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def record_started(self, run_id: str, **fields: Any) -> None:
        self.store.record_started(run_id, queued=True, **fields)


class Worker:
    """What one `studio worker` process shares between its task threads: one event loop (in its
    own thread) that every run of the process runs on, so runs share one connection pool (its
    HTTP clients and their TLS set-up) as they do in `studio serve`; the store; Redis."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.redis = Redis.from_url(settings.queue_url)
        self.store: RunStore = open_store(settings.history_url)
        self.catalog = load_catalog()
        self.connector = Connector(settings.base_url)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="studio-worker-loop", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Close the connections, stop the loop, close the store."""
        asyncio.run_coroutine_threadsafe(self.connector.aclose(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self.store.close()
        self.redis.close()

    def execute(self, message: Any) -> str:
        """Run the job once; returns the run's final status (or that of the earlier delivery)."""
        job = RunJob.from_message(message)
        lease = RunLease(self.redis, job.run_id, self.settings.lease_s)
        if not lease.acquire():
            raise LeaseHeld(self.settings.lease_s)
        try:
            try:
                before = self.store.get_run(job.run_id)
            except KeyError:
                before = None
            if before is not None and is_final(before.status):
                log.info("run %s was already recorded (%s): delivered again, not run again", job.run_id, before.status)
                return before.status
            key = ATTEMPTS_KEY.format(run_id=job.run_id)
            attempts = int(self.redis.incr(key))
            self.redis.expire(key, 7 * 86400)
            if before is not None:
                log.warning("run %s was left running by a worker that stopped (attempt %d)", job.run_id, attempts)
                if attempts > self.settings.max_attempts:
                    self.store.record_finished(job.run_id, "cancelled", error={
                        "message": f"the worker running this flow stopped before it finished, {attempts - 1} times; "
                                   "not tried again"})
                    return "cancelled"
            return asyncio.run_coroutine_threadsafe(self._run(job, lease), self._loop).result()
        finally:
            lease.release()

    async def _run(self, job: RunJob, lease: RunLease) -> str:
        s = self.settings
        source = job.flow_path or f"<queued run {job.run_id}>"
        try:
            flow = flow_from_dict(job.flow, source, self.catalog)
            # What this worker would do itself: a webhook's port is the enqueuer's, not opened here.
            problem = trust_problem(flow, dump_flow(flow).encode("utf-8"), s.trust,
                                    Path(job.flow_path).parent if job.flow_path else None, listens=False)
            if problem:
                raise UsageError(problem)
            self.connector.check(flow, self.catalog)  # a missing key is said before anything runs
        except (FlowLoadError, UsageError) as exc:  # this worker cannot run it: say why in the history
            self._record_refusal(job, job.flow, str(exc))
            return "failed"
        slots = ConnectionSlots(self.redis, s.max_per_connection, s.lease_s) if s.max_per_connection else None
        names = [n for n in connection_names(flow, self.catalog)] if slots else []
        alive = asyncio.create_task(keep_alive(lease, slots, names, s.lease_s / 3))
        try:
            if slots is not None:
                names = await slots.take(names)
            active = start_run(flow, connect=self.connector.connect, trigger=job.trigger, payload=job.payload,
                               flow_path=job.flow_path, history=_QueuedRuns(self.store), run_id=job.run_id,
                               run_record="waiting", catalog=self.catalog, trigger_node=job.trigger_node,
                               trusted=True)
            result = await active.result()
            log.info("run %s of %r (%s): %s in %.0f ms", job.run_id, flow.name, job.trigger, result.status,
                     result.duration_ms)
            return result.status
        finally:
            alive.cancel()
            if slots is not None:
                await asyncio.to_thread(slots.release, names)

    def _record_refusal(self, job: RunJob, flow: dict[str, Any], message: str) -> None:
        log.error("run %s refused: %s", job.run_id, message)
        self.store.record_started(job.run_id, flow_id=str(flow.get("id") or "?"), flow_name=str(flow.get("name") or "?"),
                                  flow_path=job.flow_path, trigger=job.trigger, payload=job.payload)
        self.store.record_finished(job.run_id, "failed", error={"message": f"this worker cannot run it: {message}"})


_current: Worker | None = None


def install(worker: Worker) -> None:
    """Make `worker` the one this process's tasks hand their jobs to (process.py)."""
    global _current
    _current = worker


def current() -> Worker:
    """This process's Worker (tasks.py hands it each job)."""
    if _current is None:
        raise RuntimeError("no studio worker in this process (start one with `studio worker --queue URL`)")
    return _current
