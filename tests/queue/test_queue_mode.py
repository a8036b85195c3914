"""Queue mode for real: Redis (redis-server), `studio serve --queue` and two `studio worker`
subprocesses against the fake OpenAI server. A webhook run lands on a worker and is recorded in
the shared history; a worker killed mid-run (SIGKILL) leaves its run to the other, recorded once;
the message in Redis holds no key."""

from __future__ import annotations

import base64
import json
import re
import signal
import sqlite3
import time

import httpx
import pytest
from redis import Redis

from studio.flow.io import save_flow
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.history import RunHistory
from studio.history.store import default_path
from studio.queue.jobs import QUEUE_NAME

SECRET = "sk-queue-test-secret-0123456789"


def hook_flow(tmp_path, response_mode="immediate"):
    hook = Node(action="trigger.webhook", name="Hook",
                values={"method": "POST", "path": "/hooks/ask", "response_mode": response_mode})
    ask = Node(action="chat.create_completion", name="Ask",
               values={"messages": [{"role": "user", "content": "{{ trigger.body.question }}"}], "stream": False,
                       "timeout_ms": 60000})
    flow = Flow(name="Queued hook", nodes=[hook, ask],
                wires=[Wire(source=Endpoint(node=hook.id, port="output"), target=Endpoint(node=ask.id, port="in"))])
    path = tmp_path / "queued-hook.flow.json"
    save_flow(flow, path)
    return path


def serve(processes, redis_url, path, env=None):
    proc = processes.start("serve", str(path), "--port", "0", "--queue", redis_url, "--trust", env=env)
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", proc.first_line)
    assert match, proc.first_line
    return match.group(1)


def worker(processes, redis_url, base_url, *extra, env=None):
    proc = processes.start("worker", "--queue", redis_url, "--base-url", base_url, "--trust", *extra, env=env)
    assert "worker consuming" in proc.first_line
    return proc


def wait_for(predicate, timeout=60.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def finished_runs():
    return [r for r in RunHistory().list_runs() if r.status != "running"]


def owner_pid(run_id):
    with sqlite3.connect(default_path()) as db:
        row = db.execute("SELECT owner_pid FROM runs WHERE run_id=?", (run_id,)).fetchone()
    return row[0] if row else None


def test_a_webhook_run_through_serve_queue_lands_on_a_worker_and_is_recorded(tmp_path, redis_url, processes):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = hook_flow(tmp_path)
    with FakeOpenAIServer() as server:
        workers = [worker(processes, redis_url, server.base_url) for _ in range(2)]
        base = serve(processes, redis_url, path)
        answer = httpx.post(f"{base}/hooks/ask", json={"question": "which worker?"}, timeout=10)
        assert answer.status_code == 202
        [run] = wait_for(finished_runs, what="the queued run to be recorded")
        assert run.trigger == "webhook" and run.status == "succeeded", run
        assert run.payload["body"] == {"question": "which worker?"}
        assert owner_pid(run.run_id) in {w.pid for w in workers}  # a worker ran it, not serve
        nodes = {n.node_name: n for n in RunHistory().get_run(run.run_id).nodes}
        assert nodes["Ask"].status == "succeeded"
        [request] = server.requests_to("/chat/completions")
        assert request.json["messages"][0]["content"] == "which worker?"


def test_the_message_in_redis_holds_no_key_and_the_worker_uses_its_own(tmp_path, redis_url, processes):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = hook_flow(tmp_path)
    with FakeOpenAIServer() as server:
        # serve itself has a key in its environment: it must not travel with the run
        base = serve(processes, redis_url, path, env={"OPENAI_API_KEY": SECRET})
        assert httpx.post(f"{base}/hooks/ask", json={"question": "secret?"}, timeout=10).status_code == 202
        redis = Redis.from_url(redis_url)
        raw = wait_for(lambda: redis.lrange(QUEUE_NAME, 0, -1), timeout=10, what="the queued message")
        assert len(raw) == 1
        envelope = json.loads(raw[0])
        body = base64.b64decode(envelope["body"]).decode("utf-8")
        assert "secret?" in body  # it is the run's message
        assert SECRET not in body and SECRET not in raw[0].decode("utf-8")
        assert all(SECRET.encode() not in redis.dump(key) for key in redis.keys("*") if redis.type(key) != b"none")
        # the worker reads the key from its own environment
        worker(processes, redis_url, server.base_url, env={"OPENAI_API_KEY": SECRET})
        [run] = wait_for(finished_runs, what="the queued run to be recorded")
        assert run.status == "succeeded"
        [request] = server.requests_to("/chat/completions")
        assert request.headers["authorization"] == f"Bearer {SECRET}"


def test_a_worker_killed_mid_run_leaves_the_run_to_the_other_recorded_once(tmp_path, redis_url, processes):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = hook_flow(tmp_path)
    fast = {"FLOW_STUDIO_QUEUE_VISIBILITY_S": "2", "FLOW_STUDIO_QUEUE_LEASE_S": "2"}
    with FakeOpenAIServer(latency_ms=2500) as server:
        workers = {w.pid: w for w in (worker(processes, redis_url, server.base_url, env=fast) for _ in range(2))}
        base = serve(processes, redis_url, path, env=fast)
        assert httpx.post(f"{base}/hooks/ask", json={"question": "survive?"}, timeout=10).status_code == 202
        wait_for(lambda: server.in_flight == 1, what="the run to be mid-request")
        [run] = RunHistory().list_runs()
        assert run.status == "running"
        victim = workers.pop(owner_pid(run.run_id))
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        [survivor] = workers.values()
        wait_for(lambda: RunHistory().get_run(run.run_id).status != "running", timeout=90,
                 what="the other worker to take the run over")
        time.sleep(3)  # a second redelivery, if any, would have run by now
        assert survivor.poll() is None
        runs = RunHistory().list_runs()
        assert [r.run_id for r in runs] == [run.run_id]  # recorded once, under the enqueuer's id
        final = RunHistory().get_run(run.run_id)
        assert final.status == "succeeded" and owner_pid(run.run_id) == survivor.pid
        assert {n.node_name: n.status for n in final.nodes}["Ask"] == "succeeded"
        assert len(server.requests_to("/chat/completions")) == 2  # the killed attempt, the finished one


def test_serve_queue_refuses_a_webhook_that_answers_with_the_result(tmp_path, redis_url, processes):
    import subprocess
    import sys

    path = hook_flow(tmp_path, response_mode="last_node")
    done = subprocess.run([sys.executable, "-m", "studio.cli", "serve", str(path), "--port", "0", "--queue", redis_url, "--trust"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "Response Mode" in done.stderr and "immediate" in done.stderr


def test_serve_queue_names_a_bad_url(tmp_path):
    import subprocess
    import sys

    path = hook_flow(tmp_path)
    done = subprocess.run([sys.executable, "-m", "studio.cli", "serve", str(path), "--queue", "http://nowhere"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and "expected a Redis URL" in done.stderr


def test_max_per_connection_holds_across_workers(tmp_path, redis_url, processes):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    path = hook_flow(tmp_path)
    with FakeOpenAIServer(latency_ms=300) as server:
        for _ in range(2):
            worker(processes, redis_url, server.base_url, "--concurrency", "2", "--max-per-connection", "1")
        base = serve(processes, redis_url, path)
        for i in range(4):
            assert httpx.post(f"{base}/hooks/ask", json={"question": f"q{i}"}, timeout=10).status_code == 202
        wait_for(lambda: len(finished_runs()) == 4, what="the four runs to be recorded")
        assert {r.status for r in finished_runs()} == {"succeeded"}
        assert len(server.requests_to("/chat/completions")) == 4
        assert server.max_in_flight == 1  # four slots on two workers, one connection: one at a time


def test_a_schedule_served_with_queue_enqueues_its_runs_for_the_worker(tmp_path, redis_url, processes):
    from studio.connectors.openai.fake_server import FakeOpenAIServer

    tick = Node(action="trigger.schedule", name="Tick", values={"interval_seconds": 1})
    ask = Node(action="chat.create_completion", name="Ask",
               values={"messages": [{"role": "user", "content": "tick"}], "stream": False})
    flow = Flow(name="Queued schedule", nodes=[tick, ask],
                wires=[Wire(source=Endpoint(node=tick.id, port="output"), target=Endpoint(node=ask.id, port="in"))])
    path = tmp_path / "tick.flow.json"
    save_flow(flow, path)
    with FakeOpenAIServer() as server:
        w = worker(processes, redis_url, server.base_url)
        processes.start("serve", str(path), "--queue", redis_url, "--trust")
        runs = wait_for(lambda: len(finished_runs()) >= 2 and finished_runs(), what="two scheduled runs")
        assert {(r.trigger, r.status) for r in runs} == {("schedule", "succeeded")}
        assert {owner_pid(r.run_id) for r in runs} == {w.pid}
        assert len({r.run_id for r in runs}) == len(runs)


def test_workers_record_in_a_shared_postgresql_history(tmp_path, redis_url, postgres_url, processes):
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.history import open_store

    path = hook_flow(tmp_path)
    with FakeOpenAIServer() as server:
        workers = [worker(processes, redis_url, server.base_url, "--history", postgres_url) for _ in range(2)]
        base = serve(processes, redis_url, path)
        for i in range(4):
            assert httpx.post(f"{base}/hooks/ask", json={"question": f"pg {i}"}, timeout=10).status_code == 202
        store = open_store(postgres_url)
        try:
            runs = wait_for(lambda: [r for r in store.list_runs() if r.status == "succeeded"][3:] and store.list_runs(),
                            what="four runs in PostgreSQL")
            assert sorted(r.payload["body"]["question"] for r in runs) == [f"pg {i}" for i in range(4)]
            assert {n.node_name: n.status for n in store.get_run(runs[0].run_id).nodes}["Ask"] == "succeeded"
        finally:
            store.close()
        assert RunHistory().list_runs() == []  # nothing went to the local SQLite file
        assert all(w.poll() is None for w in workers)
