"""No input makes the importer crash: any JSON is either refused as not an n8n workflow or
imported into a flow that passes validation (placeholders for whatever is unknown)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.catalog import load_catalog
from studio.flow.io import dump_flow, parse_flow
from studio.importers.n8n import NotAnN8nWorkflow, convert
from studio.importers.n8n.context import MAPPERS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
TYPES = sorted(MAPPERS) + ["n8n-nodes-base.code", "n8n-nodes-base.telegramTrigger", "n8n-nodes-base.stickyNote",
                           "@n8n/n8n-nodes-langchain.vectorStoreInMemory", "", "x"]
names = st.sampled_from(["A", "B", "When clicking ‘Test’", "AI Agent", "Edit Fields (Set)", "1st", "", "  ", "ü"])
expressions = st.sampled_from(["={{ $json.x }}", "={{ $('A').item.json.y }}", "={{ $now }}", "={{ }}", "={{ $(", "=",
                               "={{ $node[\"B\"].json }}", "{{", "sk-abc", "Bearer sk-x"])
params = st.dictionaries(st.sampled_from(["resource", "operation", "modelId", "messages", "conditions", "rules",
                                          "mode", "options", "text", "url", "assignments", "rule", "path", "x"]),
                         json_values | expressions, max_size=5)
n8n_nodes = st.fixed_dictionaries({
    "name": names, "type": st.sampled_from(TYPES), "typeVersion": st.sampled_from([1, 1.1, 1.4, 2, 2.1, 3, 3.4, 4.2, "x"]),
    "parameters": params, "position": st.lists(st.integers(-5000, 5000), min_size=0, max_size=3),
}, optional={"disabled": st.booleans(), "credentials": json_values, "onError": st.text(max_size=25)})
links = st.lists(st.tuples(names, st.sampled_from(["main", "ai_tool", "ai_languageModel", "ai_memory",
                                                   "ai_outputParser", "ai_embedding", "weird"]),
                           st.integers(0, 3), names, st.integers(-1, 2)), max_size=8)


def _connections(items):
    out: dict = {}
    for source, kind, o, target, i in items:
        outs = out.setdefault(source, {}).setdefault(kind, [])
        while len(outs) <= o:
            outs.append([])
        outs[o].append({"node": target, "type": kind, "index": i})
    return out


def _check(data) -> None:
    try:
        result = convert(data)
    except NotAnN8nWorkflow:
        return
    # What the CLI writes loads again with every rule checked (exit 0 means a valid flow).
    parse_flow(dump_flow(result.flow), catalog=load_catalog())
    assert result.report.nodes >= result.report.converted >= 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_is_refused_or_imported(data):
    _check(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(n8n_nodes, max_size=7), links, st.dictionaries(names, json_values, max_size=2))
def test_any_n8n_shaped_workflow_imports_into_a_valid_flow(nodes, link_items, pins):
    _check({"name": "fuzz", "nodes": nodes, "connections": _connections(link_items), "pinData": pins})
