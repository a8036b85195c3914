"""Create Embeddings against the fake OpenAI server through a real OpenAIClient: the request
(checked against OpenAI's schema by the conftest), the vectors, and the answer's own schema."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import jsonschema
import pytest

from connector_testkit import covers, one_node_flow, run_action
from openai_schema import _spec
from studio.connectors.openai.fake_embeddings import EmbeddingRequestError, embeddings_response
from studio.engine.context import NodeError
from studio.engine.executor import run_flow


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


@covers("embeddings.create")
async def test_a_list_of_texts_gives_one_vector_each_and_shared_words_mean_closer_vectors(fake_server, client,
                                                                                          tmp_path):
    texts = ["the red apple pie", "red apple pie recipe", "quarterly tax report"]
    output, events = await run_action("embeddings.create", {"input": texts, "dimensions": 64}, tmp_path, client)
    [sent] = fake_server.requests_to("/embeddings", "POST")
    assert sent.json == {"model": "text-embedding-3-small", "input": texts, "dimensions": 64,
                         "encoding_format": "float"}
    vectors = output["embeddings"]
    assert len(vectors) == 3 and all(len(v) == 64 for v in vectors)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    assert output["usage"]["total_tokens"] > 0 and events.of("usage")[0]["usage"] == output["usage"]


@covers("embeddings.create")
async def test_raw_answer_matches_openais_response_schema_and_the_server_also_speaks_base64(fake_server, client,
                                                                                            tmp_path):
    output, _ = await run_action("embeddings.create", {"input": "hello world", "simplify": False,
                                                       "model": "text-embedding-3-large"}, tmp_path, client)
    spec = _spec()
    schema = {**spec["components"]["schemas"]["CreateEmbeddingResponse"], "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(output)
    assert len(output["data"][0]["embedding"]) == 3072 and output["model"] == "text-embedding-3-large"
    response = httpx.post(fake_server.base_url + "/embeddings", headers={"Authorization": "Bearer sk-test"},
                          json={"model": "text-embedding-3-small", "input": "hello world", "dimensions": 8,
                                "encoding_format": "base64"})
    raw = base64.b64decode(response.json()["data"][0]["embedding"])
    floats = struct.unpack("<8f", raw)
    assert abs(sum(f * f for f in floats) - 1) < 1e-3


@covers("embeddings.create")
async def test_bad_requests_fail_with_the_apis_reason(fake_server, client, tmp_path):
    with pytest.raises(NodeError, match="does not support specifying dimensions"):
        await run_action("embeddings.create", {"input": "x", "model": "text-embedding-ada-002", "dimensions": 8},
                         tmp_path, client)
    with pytest.raises(NodeError, match="'Input' item 2 is empty"):
        await run_action("embeddings.create", {"input": ["a", " "]}, tmp_path, client)
    with pytest.raises(EmbeddingRequestError, match="non-empty") as refused:  # what the server answers 400 with
        embeddings_response({"model": "text-embedding-3-small", "input": []})
    assert refused.value.param == "input"


@covers("embeddings.create")
async def test_in_a_flow_the_node_embeds_its_input(fake_server, client, tmp_path):
    async def connect(name):
        return client

    flow = one_node_flow("embeddings.create", {"dimensions": 16}, name="Embed")
    result = await run_flow(flow, trigger_payload="embed this text", connect=connect, run_dir=tmp_path)
    assert result.status == "succeeded", result.error
    assert len(result.output("Embed")["embeddings"]) == 1 and len(result.output("Embed")["embeddings"][0]) == 16
    assert fake_server.requests_to("/embeddings", "POST")[0].json["input"] == "embed this text"
    assert result.usage["total_tokens"] > 0


@covers("embeddings.create")
async def test_the_simulated_connection_answers_embeddings_offline(tmp_path):
    from studio.connectors.openai.client import OpenAIClient
    from studio.credentials import SIMULATED, resolve

    async with OpenAIClient(resolve(SIMULATED)) as simulated:
        output, _ = await run_action("embeddings.create", {"input": ["offline text", "offline words"],
                                                           "dimensions": 32}, tmp_path, simulated)
    first, second = output["embeddings"]
    assert len(first) == 32 and 0.2 < cosine(first, second) < 0.99  # they share a word
