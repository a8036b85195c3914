"""Queue mode: `studio serve --queue redis://...` enqueues the runs its triggers fire and `studio
worker` processes run them, on Celery with a Redis broker (docs/scale-out.md).

- `app.py`: the Celery app for a broker URL (late acks, redelivery of a dead worker's runs);
- `jobs.py`: what a queued run's message holds (never a secret);
- `enqueue.py`: the serve side, which chooses the run id and sends the job;
- `worker.py`: the worker side, which runs a job through the run service exactly once per run id
  (a lease in Redis, the shared history) and gives up on a run after too many lost attempts;
  `tasks.py` the Celery task that hands it each job; `process.py` the `studio worker` process;
- `limits.py`: run leases and concurrent runs per connection across all workers (Redis);
- `local_redis.py`: a throwaway redis-server for tests, benchmarks and trying it on one machine."""
