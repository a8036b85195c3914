"""Every new OpenAI action family runs green on the "Simulated (offline)" connection: flows
through the real executor, the connection resolved by name as a user's flow names it, each node
feeding the next by expressions (ids, lists), and the answers as the simulated model gives them."""

from __future__ import annotations

import pytest

from connector_testkit import final_states
from studio.catalog import load_catalog
from studio.connectors.openai import simulated
from studio.connectors.openai.client import ClientPool
from studio.credentials import SIMULATED, resolve
from studio.engine.executor import run_flow
from studio.flow.models import Endpoint, Flow, Node, Wire

FAST = {"poll_interval_ms": 20, "connection": SIMULATED}
NEW_APIS = {"Conversations", "Vector stores", "Batch", "Videos", "Evals", "Uploads"}


@pytest.fixture(scope="module")
def simulated_url():
    url = simulated.ensure_simulated_server()
    simulated.simulated_server().latency_ms = 5  # answers stay slow-ish, the test stays quick
    yield url
    simulated.stop_simulated_server()


@pytest.fixture
async def connect(simulated_url):
    pool = ClientPool()

    async def by_name(name):
        assert name == SIMULATED
        return await pool.get(resolve(name))

    yield by_name
    await pool.aclose()


def chain(*steps: tuple[str, str, dict]) -> Flow:
    """A manual trigger, then each (name, action, values) node after the one before."""
    nodes = [Node(id="start", name="Start", action="trigger.manual")]
    wires = []
    for index, (name, action, values) in enumerate(steps):
        nodes.append(Node(id=f"n{index}", name=name, action=action, values={**FAST, **values}))
        wires.append(Wire(source=Endpoint(node=nodes[-2].id, port="output"), target=Endpoint(node=f"n{index}",
                                                                                               port="in")))
    return Flow(name="simulated", nodes=nodes, wires=wires)


async def run(flow, connect, tmp_path, payload=None):
    result = await run_flow(flow, connect=connect, run_dir=tmp_path, trigger_payload=payload)
    states = final_states(result)
    assert set(states.values()) == {"succeeded"}, {n.node_name: n.error for n in result.nodes.values() if n.error}
    return {r.node_name: r.output for r in result.nodes.values()}


@pytest.mark.filterwarnings("ignore:The Sora API is scheduled:DeprecationWarning")
async def test_conversation_response_video_and_batch_flows_run_on_the_simulated_connection(connect, tmp_path):
    out = await run(chain(
        ("Conv", "conversation.create", {"items": "Hello there"}),
        ("Ask", "responses.create", {"input": "what did I say?", "conversation_id": "{{ nodes.Conv.output.id }}",
                                     "background": True, "reasoning_effort": "low", "reasoning_summary": "auto"}),
        ("Items", "conversation.list_items", {"conversation_id": "{{ nodes.Conv.output.id }}"}),
        ("Clip", "video.create", {"prompt": "{{ nodes.Ask.output.output_text }}"}),
        ("Batch", "batch.run", {"items": "{{ trigger.questions }}"}),
    ), connect, tmp_path, payload={"questions": ["one", "two"]})
    assert out["Ask"]["status"] == "completed" and out["Ask"]["output_text"] == "Echo: what did I say?"
    assert out["Items"]["text"].splitlines() == ["user: Hello there", "user: what did I say?",
                                                 "assistant: Echo: what did I say?"]
    assert out["Clip"]["video"]["prompt"] == "Echo: what did I say?" and out["Clip"]["file"]["size"] > 8
    assert [r["output_text"] for r in out["Batch"]["results"]] == ["Echo: one", "Echo: two"]


async def test_vector_store_eval_and_upload_flows_run_on_the_simulated_connection(connect, tmp_path):
    (tmp_path / "notes.txt").write_text("Our office opens at nine.", encoding="utf-8")
    out = await run(chain(
        ("Up", "upload.create", {"file": str(tmp_path / "notes.txt"), "purpose": "assistants"}),
        ("Store", "vector_store.create", {"name": "notes", "file_ids": ["{{ nodes.Up.output.file.id }}"]}),
        ("Search", "vector_store.search", {"vector_store_id": "{{ nodes.Store.output.id }}", "query": "office"}),
        ("Ask", "responses.create", {"input": "office hours?", "stream": False,
                                     "file_search_vector_store_ids": ["{{ nodes.Store.output.id }}"],
                                     "include": ["file_search_call.results"]}),
        ("Eval", "eval.create", {"name": "echo"}),
        ("Run", "eval.run", {"eval_id": "{{ nodes.Eval.output.id }}",
                             "cases": [{"input": "ping", "expected": "ping"}]}),
    ), connect, tmp_path)
    assert out["Store"]["file_counts"]["completed"] == 1
    assert out["Search"]["text"] == "Our office opens at nine."
    search_call = out["Ask"]["tool_calls"][0]
    assert search_call["type"] == "file_search_call" and search_call["results"][0]["filename"] == "notes.txt"
    assert (out["Run"]["passed"], out["Run"]["total"]) == (1, 1)


def test_every_action_of_the_new_apis_is_in_a_simulated_flow_here():
    """The two flows above use at least one action of each new API (the per-action tests against
    the fake server cover the rest)."""
    import inspect

    source = inspect.getsource(inspect.getmodule(test_every_action_of_the_new_apis_is_in_a_simulated_flow_here))
    used = {a.api for a in load_catalog().actions if f'"{a.id}"' in source}
    assert NEW_APIS | {"Responses"} <= used
