"""Whatever bytes a flow file holds, loading either succeeds or raises FlowLoadError whose message
says where the problem is; it never crashes with another exception."""

from __future__ import annotations

import copy
import json
import re

from flow_testkit import CATALOG, GOOD, json_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.flow.io import FlowLoadError, dump_flow, parse_flow

DOCS = [json.loads(p.read_text()) for p in sorted(GOOD.glob("*.flow.json"))]
TEXTS = [p.read_bytes() for p in sorted(GOOD.glob("*.flow.json"))]
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
# Problems with the whole document have no path; their messages say so in these words.
WHOLE = ("the document is", "nested more than", "appears twice", "the file is", "not a JSON number", "too large")


def check(data) -> None:
    try:
        flow = parse_flow(data, "fuzz.flow.json", catalog=CATALOG)
    except FlowLoadError as err:
        text = str(err)
        assert text.startswith("fuzz.flow.json: ")
        assert "cannot be read (" not in text, text  # the catch-all must never be what answers
        if err.path:
            assert f": {err.path}: " in text
        elif err.line is not None:
            assert re.search(r": line \d+, column \d+: ", text)
        else:
            assert any(w in text for w in WHOLE), text
        assert "Traceback" not in text
    else:
        dump_flow(flow)  # whatever loads can be written back


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated_documents(draw):
    doc = copy.deepcopy(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        how = draw(st.sampled_from(["replace", "delete", "add", "wrong-type"]))
        if how == "replace":
            parent[last] = draw(json_values)
        elif how == "wrong-type":
            parent[last] = draw(st.sampled_from([None, 0, -1, 1.5, "", "x", [], {}, True, "sk-abc", "{{ x }}"]))
        elif how == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "token", "in", "error", "id", "name"]))] = draw(json_values)
        else:
            parent.insert(last, draw(json_values))
    return doc


@FUZZ
@given(doc=mutated_documents())
def test_mutated_documents(doc):
    check(json.dumps(doc))


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(data):
    check(data)


@settings(max_examples=600, deadline=None)
@given(base=st.sampled_from(TEXTS), cut=st.integers(0, 4000), junk=st.binary(max_size=8), at=st.integers(0, 4000))
def test_damaged_files(base, cut, junk, at):
    """Truncated files and bytes spliced into the middle (a torn or corrupted copy)."""
    check(base[: cut % (len(base) + 1)])
    i = at % (len(base) + 1)
    check(base[:i] + junk + base[i:])


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_any_json_document(value):
    check(json.dumps(value))


def test_pathological_inputs():
    for data in ["[" * 100_000, "{\"a\":" * 50_000, "1" * 10_000, '{"format_version": 1e999}',
                 '{"name": "\\ud800"}', "\ufeff{}", "{}", '{"format_version": true}', "null", '"\\u0000"']:
        check(data)
    for data in [b"\xef\xbb\xbf{}", b"\x00" * 10, "{}".encode("utf-16")]:
        check(data)
