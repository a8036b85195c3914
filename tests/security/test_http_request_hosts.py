"""HTTP Request under the trust rules, through the real CLI: the host written in an imported
flow is listed before its first run and contacted only once trusted; a host computed from an
expression is refused by validation."""

from __future__ import annotations

import json

import pytest

from security_testkit import RecordingServer, flow, node, save, studio, wire


@pytest.fixture
def api():
    with RecordingServer() as srv:
        yield srv


def test_the_host_is_shown_before_the_first_run_and_contacted_only_when_trusted(api, tmp_path):
    start = node("trigger.manual", "Start")
    call = node("http.request", "Call", url=api.url + "/echo?run={{ run.id }}", method="POST", body_type="json",
                body={"hello": "world"})
    path = save(flow("calls an api", [start, call], [wire(start, call)]), tmp_path / "flows")
    refused = studio("run", str(path))
    assert refused.returncode == 2
    listed = [line.strip() for line in refused.stderr.splitlines() if line.strip().startswith("- ")]
    assert listed == [f"- node 'Call' (HTTP Request) would connect to {api.url} "
                      f"(written as {api.url}/echo?run={{{{ run.id }}}})"]
    assert api.received == []  # nothing reached the host before the user said yes
    ran = studio("run", str(path), "--trust", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["nodes"]["Call"]["output"] == {}
    [(method, sent_path, _, body)] = api.received
    assert method == "POST" and sent_path.startswith("/echo?run=") and json.loads(body) == {"hello": "world"}


@pytest.mark.parametrize("url", ["{{ trigger.url }}", "http://{{ trigger.host }}/x", "http://127.0.0.1{{ trigger.port }}/x"])
def test_a_host_computed_from_an_expression_is_refused(url, tmp_path):
    start = node("trigger.manual", "Start")
    call = node("http.request", "Call", url=url)
    path = save(flow("computed", [start, call], [wire(start, call)]), tmp_path)
    checked = studio("validate", str(path))
    assert checked.returncode == 2
    assert "Call: 'URL' must write out the URL's scheme, host and port" in checked.stderr
