"""A worker's side of at-least-once delivery, in process against a real Redis and the fake OpenAI
server: a message delivered twice runs once; a run held by another worker's lease is not run; a
run lost too many times is recorded as cancelled with the reason; the connection semaphore holds
across holders and frees a dead holder's slot."""

from __future__ import annotations

import time
import uuid

import pytest
from redis import Redis

from studio.flow.io import flow_to_dict
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.history import RunHistory
from studio.queue.jobs import RunJob
from studio.queue.limits import ConnectionSlots, RunLease
from studio.queue.worker import LeaseHeld, Worker, WorkerSettings


def message(run_id=None):
    hook = Node(action="trigger.webhook", name="Hook", values={"method": "POST", "path": "/h"})
    ask = Node(action="chat.create_completion", name="Ask",
               values={"messages": [{"role": "user", "content": "hello"}], "stream": False})
    flow = Flow(name="Once", nodes=[hook, ask],
                wires=[Wire(source=Endpoint(node=hook.id, port="output"), target=Endpoint(node=ask.id, port="in"))])
    return RunJob(run_id=run_id or uuid.uuid4().hex, flow=flow_to_dict(flow), flow_path=None, trigger_node=hook.id,
                  trigger="webhook", payload={"body": {}}).to_message()


@pytest.fixture
def workers():
    made = []

    def make(**settings):
        made.append(Worker(WorkerSettings(**settings)))
        return made[-1]

    yield make
    for w in made:
        w.close()


@pytest.fixture
def fake():
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server


def test_a_message_delivered_twice_runs_once(redis_url, fake, workers):
    w = workers(queue_url=redis_url, base_url=fake.base_url, trust=True)
    job = message()
    assert w.execute(job) == "succeeded"
    assert w.execute(job) == "succeeded"  # the redelivery finds the run recorded
    assert len(fake.requests_to("/chat/completions")) == 1
    assert [r.run_id for r in RunHistory().list_runs()] == [job["run_id"]]


def test_a_run_whose_lease_another_worker_holds_is_not_run(redis_url, fake, workers):
    w = workers(queue_url=redis_url, base_url=fake.base_url, trust=True)
    job = message()
    other = RunLease(Redis.from_url(redis_url), job["run_id"], ttl_s=30)
    assert other.acquire()
    with pytest.raises(LeaseHeld):
        w.execute(job)
    assert fake.requests_to("/chat/completions") == [] and RunHistory().list_runs() == []
    other.release()
    assert w.execute(job) == "succeeded"


def test_a_run_lost_too_often_is_recorded_cancelled_with_the_reason(redis_url, fake, workers):
    w = workers(queue_url=redis_url, base_url=fake.base_url, trust=True, max_attempts=1)
    job = message()
    history = RunHistory()
    # a worker took it and died: the row says running, nobody holds the lease, one attempt counted
    history.record_started(job["run_id"], flow_id="f", flow_name="Once", flow_path=None, trigger="webhook",
                           payload=None)
    Redis.from_url(redis_url).set(f"studio:run:{job['run_id']}:attempts", 1)
    assert w.execute(job) == "cancelled"
    run = history.get_run(job["run_id"])
    assert run.status == "cancelled" and "stopped before it finished" in run.error["message"]
    assert fake.requests_to("/chat/completions") == []


def test_a_run_left_running_by_a_dead_worker_runs_again_under_its_id(redis_url, fake, workers):
    w = workers(queue_url=redis_url, base_url=fake.base_url, trust=True)
    job = message()
    RunHistory().record_started(job["run_id"], flow_id="f", flow_name="Once", flow_path=None, trigger="webhook",
                                payload=None)
    assert w.execute(job) == "succeeded"
    assert [(r.run_id, r.status) for r in RunHistory().list_runs()] == [(job["run_id"], "succeeded")]


def test_a_bad_message_names_the_field():
    with pytest.raises(ValueError, match="'flow' must be a dict"):
        RunJob.from_message({"run_id": "r", "flow": "x", "trigger_node": "t", "trigger": "webhook"})


def test_connection_slots_hold_across_holders_and_free_a_dead_holders_slot(redis_url):
    redis = Redis.from_url(redis_url)
    first, second = ConnectionSlots(redis, 1, ttl_s=0.5), ConnectionSlots(redis, 1, ttl_s=0.5)
    assert first.try_take("openai") and first.try_take("openai")  # taking again is a refresh
    assert not second.try_take("openai")
    assert second.try_take("other")  # limits are per connection name
    assert first.holders("openai") == 1
    first.release(["openai"])
    assert second.try_take("openai") and not first.try_take("openai")
    time.sleep(0.7)  # the holder stopped refreshing (its worker died): its slot expires
    assert first.try_take("openai")
    assert ConnectionSlots(redis, 2, ttl_s=5).try_take("openai")  # a higher limit admits a second holder


def test_a_worker_without_trust_records_why_it_did_not_run_the_flow(redis_url, fake, workers):
    w = workers(queue_url=redis_url, base_url=fake.base_url, trust=False)
    job = message()
    # the webhook flow also calls a host of its own: that needs this machine's trust
    flow = job["flow"]
    flow["nodes"].append({"id": "get", "name": "Fetch", "action": "http.request",
                          "values": {"url": "https://example.com/data"}})
    assert w.execute(job) == "failed"
    run = RunHistory().get_run(job["run_id"])
    assert run.status == "failed" and "--trust" in run.error["message"] and "cannot run it" in run.error["message"]
    assert "would connect to https://example.com" in run.error["message"]
    assert "open a local port" not in run.error["message"]  # the port is the enqueuer's
    assert fake.requests_to("/chat/completions") == []


def test_a_worker_without_trust_runs_a_webhook_flow_that_does_nothing_else_here(redis_url, fake, workers):
    w = workers(queue_url=redis_url, base_url=fake.base_url, trust=False)
    job = message()
    assert w.execute(job) == "succeeded"  # `studio serve --queue` holds the port, with its own trust
    assert len(fake.requests_to("/chat/completions")) == 1


def test_recovery_on_the_workers_machine_leaves_a_dead_workers_run_to_the_next_delivery(redis_url, fake, workers,
                                                                                        tmp_path):
    import subprocess
    import sys

    from studio.runs.records import recover_interrupted

    job = message()
    # a worker takes the run and dies mid-run (SIGKILL: nothing is recorded after the start)
    code = ("import sys; from studio.history import RunHistory; from studio.queue.worker import _QueuedRuns; "
            "_QueuedRuns(RunHistory()).record_started(sys.argv[1], flow_id='f', flow_name='Once', flow_path=None, "
            "trigger='webhook', payload=None)")
    subprocess.run([sys.executable, "-c", code, job["run_id"]], check=True, timeout=60)
    # the editor or `studio serve` starts on the same machine before the message comes back
    assert recover_interrupted(RunHistory()) == 0
    assert RunHistory().get_run(job["run_id"]).status == "running"
    w = workers(queue_url=redis_url, base_url=fake.base_url, trust=True)
    assert w.execute(job) == "succeeded"  # delivered again: run again under its id, not taken as ended
    assert len(fake.requests_to("/chat/completions")) == 1
