"""HTTP Request against a real HTTP server on loopback: methods, bodies, credentials from an HTTP
connection, pagination, response formats, retries, and the trust rules for hosts."""

from __future__ import annotations

import base64
import json

import pytest
from loopback_http import PNG, LoopbackServer

from core_testkit import run, start
from keyring_testkit import MemoryKeyring
from studio.catalog.catalog import load_catalog
from studio.credentials import ConnectionRecord, ConnectionStore
from studio.flow.capabilities import analyse
from studio.flow.validate import validate_flow as validate

SECRET = "tok-0123456789-secret"


@pytest.fixture(scope="module")
def server():
    srv = LoopbackServer()
    yield srv
    srv.close()


def call(server, payload=None, *, trusted=True, services=None, **values):
    values = {"url": server.url + values.pop("path", "/echo"), **values}
    g = start().add("HTTP", "http.request", values=values).wire("Start", "HTTP")
    return run(g, payload or {}, trusted=trusted, services=services)


def test_post_json_with_query_and_headers(server):
    result = call(server, {"id": 7}, method="POST", query={"q": "{{ input.id }}"}, headers={"X-Key": "k1"},
                  body_type="json", body={"id": "{{ input.id }}", "tags": ["a"]})
    assert result.status == "succeeded", result.error
    out = result.output("HTTP")
    assert out["method"] == "POST" and out["query"] == {"q": "7"} and out["x_key"] == "k1"
    assert out["content_type"] == "application/json" and json.loads(out["body"]) == {"id": 7, "tags": ["a"]}


def test_form_multipart_and_raw_bodies(server, tmp_path):
    form = call(server, method="PUT", body_type="form", body={"a": "1", "b": "x y"}).output("HTTP")
    assert form["content_type"] == "application/x-www-form-urlencoded" and form["body"] == "a=1&b=x+y"
    (tmp_path / "note.txt").write_text("file content")
    multi = call(server, method="POST", body_type="multipart", body={"field": "v", "doc": {"path": "note.txt"}},
                 services={"flow_dir": str(tmp_path)}).output("HTTP")
    assert multi["content_type"].startswith("multipart/form-data")
    assert 'name="field"' in multi["body"] and 'filename="note.txt"' in multi["body"] and "file content" in multi["body"]
    raw = call(server, method="PATCH", body_type="raw", raw_body="<x/>", raw_content_type="application/xml")
    assert raw.output("HTTP")["body"] == "<x/>" and raw.output("HTTP")["content_type"] == "application/xml"


def test_credentials_come_from_an_http_connection_and_never_reach_the_records(server, tmp_path):
    store = ConnectionStore(tmp_path, keyring_backend=MemoryKeyring())
    store.save(ConnectionRecord(name="api", type="http", auth="bearer"), SECRET)
    store.save(ConnectionRecord(name="basic", type="http", auth="basic", username="ann"), SECRET)
    store.save(ConnectionRecord(name="keyed", type="http", auth="header", header_name="X-Key"), SECRET)
    store.save(ConnectionRecord(name="openai-one"), "sk-x")
    services = {"connection_store": store}
    bearer = call(server, authentication="connection", connection="api", services=services)
    assert bearer.output("HTTP")["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in json.dumps(bearer.node("HTTP").inputs)
    basic = call(server, authentication="connection", connection="basic", services=services)
    assert basic.output("HTTP")["authorization"] == "Basic " + base64.b64encode(f"ann:{SECRET}".encode()).decode()
    keyed = call(server, authentication="connection", connection="keyed", services=services)
    assert keyed.output("HTTP")["x_key"] == SECRET
    wrong = call(server, authentication="connection", connection="openai-one", services=services)
    assert wrong.status == "failed" and "needs an HTTP Credentials connection" in wrong.error["message"]
    missing = call(server, authentication="connection", connection="nope", services=services)
    assert missing.status == "failed" and "no connection named 'nope'" in missing.error["message"]


def test_pagination_by_page_parameter_and_by_next_url(server):
    pages = call(server, path="/pages", pagination="page_param", page_param="page", page_start=1,
                 results_field="data")
    assert pages.output("HTTP") == [{"n": 10}, {"n": 11}, {"n": 20}, {"n": 21}]
    cursor = call(server, path="/cursor", pagination="next_url", next_url="{{ input.body.next }}",
                  results_field="items")
    assert cursor.output("HTTP") == ["a", "b", "c"]
    capped = call(server, path="/cursor", pagination="next_url", next_url="{{ input.body.next }}",
                  results_field="items", max_pages=2)
    assert capped.output("HTTP") == ["a", "b"]


def test_response_as_text_file_and_full_response(server):
    assert call(server, path="/text").output("HTTP") == "plain words"
    image = call(server, path="/image.png").output("HTTP")
    assert image["artifact"] is True and image["media_type"] == "image/png"
    with open(image["path"], "rb") as fh:
        assert fh.read() == PNG
    full = call(server, path="/text", full_response=True, response_format="text").output("HTTP")
    assert full["status"] == 200 and full["headers"]["content-type"] == "text/plain" and full["body"] == "plain words"


def test_errors_retries_and_redirects(server):
    missing = call(server, path="/missing")
    assert missing.status == "failed"
    assert "answered 404" in missing.error["message"] and missing.error["details"]["status"] == 404
    tolerated = call(server, path="/missing", never_error=True, full_response=True)
    assert tolerated.output("HTTP")["status"] == 404
    server.flaky = 0
    flaky = call(server, path="/flaky", max_retries=3, retry_delay_ms=1)
    assert flaky.output("HTTP") == {"ok": True, "after": 3}
    retries = [e for e in flaky.events if e.type == "progress" and "retry" in e.data]
    assert [e.data["retry"]["try"] for e in retries] == [2, 3]
    server.flaky = 0
    given_up = call(server, path="/flaky", max_retries=1, retry_delay_ms=1)
    assert given_up.status == "failed" and "503" in given_up.error["message"]
    assert call(server, path="/hop").output("HTTP")["method"] == "GET"
    away = call(server, path="/away")
    assert away.status == "failed" and "leaves http://127.0.0.1" in away.error["message"]


def test_hosts_need_trust_and_may_not_be_computed(server):
    untrusted = call(server, trusted=False)
    assert untrusted.status == "failed" and "not trusted to connect" in untrusted.error["message"]
    g = start().add("HTTP", "http.request", values={"url": server.url + "/echo?x={{ input.x }}"})
    caps = analyse(g.flow(), load_catalog())
    assert caps.origins() == {server.url} and not caps.problems
    computed = start().add("HTTP", "http.request", values={"url": "{{ input.base }}/echo"}).wire("Start", "HTTP")
    problems = analyse(computed.flow(), load_catalog()).problems
    assert any("'URL' must write out the URL's scheme, host and port" in p.message for p in problems)
    assert any("'URL' must write out" in p.message for p in validate(computed.flow(), load_catalog()))
    refused = run(computed, {"base": server.url}, trusted=True)
    assert refused.status == "failed" and "refused to connect" in refused.error["message"]


def test_an_http_connection_is_never_used_as_an_openai_key(tmp_path, monkeypatch):
    from studio.credentials import CredentialError, resolve

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    store = ConnectionStore(tmp_path, keyring_backend=MemoryKeyring())
    store.save(ConnectionRecord(name="api", type="http", auth="bearer"), SECRET)
    with pytest.raises(CredentialError, match="no connection chosen and no default"):
        resolve(None, store=store)  # the only saved connection, but not an OpenAI one
    with pytest.raises(CredentialError, match="is an http connection, not an OpenAI one"):
        resolve("api", store=store)
