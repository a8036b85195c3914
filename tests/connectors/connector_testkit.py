"""Helpers for connector tests: run one action handler the way the executor would (catalog
defaults, then the node's values, coerced), run one-node flows through the real executor, and
check recorded requests against OpenAI's schema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from action_testkit import Recorder, make_context
from openai_schema import _spec, answer_errors, answer_operations, schema_errors

from studio.catalog import load_catalog
from studio.connectors.openai.actions import ACTION_HANDLERS
from studio.engine.expressions import Scope
from studio.engine.inputs import resolve_inputs
from studio.flow.models import Endpoint, Flow, Node, RetryPolicy, Wire

COVERS_PATTERN = re.compile(r"""@covers\(([^)]*)\)""")


def covers(*action_ids: str):
    """Mark a test as exercising these action ids (test_action_coverage reads the marks)."""

    def mark(fn):
        fn.covers = action_ids
        return fn

    return mark


def covered_action_ids(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.glob("test_*.py"):
        for match in COVERS_PATTERN.finditer(path.read_text(encoding="utf-8")):
            found.update(re.findall(r"""["']([^"']+)["']""", match.group(1)))
    return found


def node_inputs(action_id: str, values: dict[str, Any], name: str = "Node") -> dict[str, Any]:
    """The inputs the executor would hand the handler: catalog defaults, values, coercion."""
    action = load_catalog().get(action_id)
    return resolve_inputs(name, action, dict(values), Scope())


async def run_action(action_id: str, values: dict[str, Any], run_dir: Path, client: Any, *,
                     name: str = "Node", upstream: Any = None, timeout_s: float | None = None,
                     defaults: bool = True) -> tuple[Any, Recorder]:
    """Call the action's handler directly with a real client; returns (output, events)."""
    inputs = node_inputs(action_id, values, name) if defaults else dict(values)

    async def connect(connection: str | None) -> Any:
        return client

    ctx, recorder = make_context(action_id, inputs, run_dir, connect=connect, upstream=upstream,
                                 timeout_s=timeout_s, name=name)
    ctx.node.values = dict(values)  # what the user set, as in a real flow (defaults come from the catalog)
    output = await ACTION_HANDLERS[action_id](ctx)
    return output, recorder


def one_node_flow(action_id: str, values: dict[str, Any], *, name: str = "Ask", retry: int = 1,
                  wait_ms: int = 0) -> Flow:
    trigger = Node(id="start", name="Start", action="trigger.manual")
    node = Node(id="n1", name=name, action=action_id, values=values,
                retry=RetryPolicy(max_tries=retry, wait_ms=wait_ms))
    wire = Wire(source=Endpoint(node="start", port="output"), target=Endpoint(node="n1", port="in"))
    return Flow(name="connector test", nodes=[trigger, node], wires=[wire])


def fan_out_flow(action_id: str, count: int, values_for, **node_fields: Any) -> Flow:
    """A manual trigger wired to `count` nodes of `action_id`, named N1..Ncount."""
    nodes = [Node(id="start", name="Start", action="trigger.manual")]
    wires = []
    for i in range(1, count + 1):
        nodes.append(Node(id=f"n{i}", name=f"N{i}", action=action_id, values=values_for(i), **node_fields))
        wires.append(Wire(source=Endpoint(node="start", port="output"), target=Endpoint(node=f"n{i}", port="in")))
    return Flow(name="fan out", nodes=nodes, wires=wires)


# --- the schema check ----------------------------------------------------------------------------


def _operations(keys: Iterable[str] | None = None) -> list[tuple[str, list[str], str]]:
    ops = []
    for key in (_spec()["operations"] if keys is None else keys):
        method, template = key.split(" ", 1)
        ops.append((method, [p for p in template.split("/") if p], key))
    return ops


def operation_for(method: str, api_path: str, keys: Iterable[str] | None = None) -> str | None:
    """The schema operation ("POST /threads/{thread_id}") a request path matches, if any (literal
    segments win over placeholders: "/vector_stores/{id}/search" is not a file id)."""
    parts = [p for p in api_path.split("/") if p]
    ranked = sorted(_operations(keys), key=lambda op: sum(t.startswith("{") for t in op[1]))
    for op_method, template, key in ranked:
        if op_method != method or len(template) != len(parts):
            continue
        if all(t.startswith("{") or t == p for t, p in zip(template, parts)):
            return key
    return None


def request_schema_errors(requests: Iterable[Any]) -> list[str]:
    problems = []
    for request in requests:
        operation = operation_for(request.method, request.api_path)
        if operation is None:
            continue
        if request.json is not None:
            body = request.json
        elif request.form or request.files:
            body = {**request.form, **{k: "<file>" for k in request.files}}
        else:
            continue
        if not isinstance(body, dict):
            problems.append(f"{operation}: body is not a JSON object")
            continue
        problems += [f"{operation}: {error}" for error in schema_errors(operation, body)]
    return problems


def answer_schema_errors(requests: Iterable[Any]) -> list[str]:
    """Successful JSON answers of the fake server that break the schema OpenAI documents for them."""
    problems = []
    keys = answer_operations()
    for request in requests:
        if request.status is None or request.status >= 400:
            continue
        operation = operation_for(request.method, request.api_path, keys)
        if operation is not None:
            problems += [f"answer to {operation}: {error}" for error in
                         answer_errors(operation, request.status, request.answer)]
    return problems


def final_states(result: Any) -> dict[str, str]:
    return {r.node_name: r.status for r in result.nodes.values()}
