"""The RunStore interface, the same checks on both implementations: SQLite (the default) and a
real PostgreSQL server. A run re-recorded under its id (a retried run) replaces its row and its
nodes; finishing an unknown run is a KeyError; runs of dead processes are closed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from studio.history import NodeRecord, RunStore, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_store(url)
    yield s
    s.close()


def test_a_run_is_recorded_and_read_back(store):
    assert isinstance(store, RunStore)
    store.record_started("r1", flow_id="f", flow_name="Flow", flow_path="/x.flow.json", trigger="webhook",
                         payload={"body": {"q": "é"}}, started_at=10.0)
    assert store.get_run("r1").status == "running"
    store.record_finished("r1", "succeeded", usage={"total_tokens": 3}, finished_at=11.0, nodes=[
        NodeRecord(node_id="n1", node_name="Ask", status="succeeded", output={"text": "hi"}, started_at=10.1,
                   usage={"total_tokens": 3}, steps=[{"kind": "model_call"}])])
    run = store.get_run("r1")
    assert (run.status, run.payload, run.usage, run.finished_at) == ("succeeded", {"body": {"q": "é"}},
                                                                     {"total_tokens": 3}, 11.0)
    [node] = run.nodes
    assert (node.node_name, node.output, node.steps) == ("Ask", {"text": "hi"}, [{"kind": "model_call"}])
    assert [r.run_id for r in store.list_runs()] == ["r1"] and store.list_runs(flow_id="other") == []


def test_a_retried_run_replaces_its_row_and_nodes(store):
    store.record_started("r1", flow_id="f", flow_name="Flow", flow_path=None, trigger="webhook", payload=None)
    store.record_node("r1", NodeRecord(node_id="old", node_name="Old", status="running"))
    store.record_started("r1", flow_id="f", flow_name="Flow", flow_path=None, trigger="webhook", payload={"n": 2})
    store.record_finished("r1", "failed", error={"message": "boom"})
    [run] = store.list_runs()
    full = store.get_run("r1")
    assert (run.status, run.payload, full.error, full.nodes) == ("failed", {"n": 2}, {"message": "boom"}, [])


def test_finishing_an_unknown_run_or_with_a_bad_status_is_refused(store):
    with pytest.raises(KeyError):
        store.record_finished("nope", "succeeded")
    with pytest.raises(ValueError, match="run status"):
        store.record_finished("nope", "done")


def test_runs_of_a_dead_process_are_closed_as_cancelled(store, request):
    url = request.node.callspec.params["store"]
    url = store.url if url == "postgresql" else f"sqlite:///{store.path}"
    store.record_started("mine", flow_id="f", flow_name="Flow", flow_path=None, trigger="cli", payload=None)
    # another process starts a run and dies before it finishes
    code = ("import sys; from studio.history import open_store; s = open_store(sys.argv[1]); "
            "s.record_started('gone', flow_id='f', flow_name='Flow', flow_path=None, trigger='cli', payload=None)")
    subprocess.run([sys.executable, "-c", code, url], check=True, timeout=60)
    assert store.get_run("gone").status == "running"
    assert store.mark_interrupted() == 1
    assert store.get_run("gone").status == "cancelled" and store.get_run("mine").status == "running"


def test_a_queue_workers_run_is_left_to_the_queue_when_its_process_dies(store, request):
    url = request.node.callspec.params["store"]
    url = store.url if url == "postgresql" else f"sqlite:///{store.path}"
    # two processes of this machine die mid-run: one ran the flow itself, one was a queue worker
    code = ("import sys; from studio.history import open_store; s = open_store(sys.argv[1]); "
            "s.record_started('mine', flow_id='f', flow_name='Flow', flow_path=None, trigger='cli', payload=None); "
            "s.record_started('queued', flow_id='f', flow_name='Flow', flow_path=None, trigger='webhook', "
            "payload=None, queued=True)")
    subprocess.run([sys.executable, "-c", code, url], check=True, timeout=60)
    assert store.mark_interrupted() == 1
    assert store.get_run("mine").status == "cancelled"
    assert store.get_run("queued").status == "running"  # the queue delivers it again (test_worker_idempotence)
