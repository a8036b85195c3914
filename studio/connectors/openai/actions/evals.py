"""Evals: create an eval (an item schema and string-check graders), run it over a flow test's
cases with a model and a prompt template (waiting with progress), and fetch a run's result with
each case's output and grade."""

from __future__ import annotations

import re
from typing import Any

from studio.engine.context import NodeContext, NodeError

from ._common import (InputError, api_call, bool_input, connect, handles, json_value, present, required, timeout_kw,
                      to_plain)
from ._polling import poll_until_done

RUN_DONE = {"completed", "failed", "canceled", "cancelled"}
# The node's own `{{ }}` are flow expressions, so eval templates are written with single braces:
# `{input}` in Prompt is the case's field, `{item.x}` / `{sample.output_text}` in Testing Criteria.
CASE_FIELD = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
NAMESPACED = re.compile(r"(?<!\{)\{((?:item|sample)\.[\w.]+)\}(?!\})")
OPERATIONS = {"equals": "eq", "not equals": "ne", "contains": "like", "contains (any case)": "ilike"}


def _cases(ctx: NodeContext) -> list[dict[str, Any]]:
    cases = json_value(ctx, "cases", expect=(list, dict))
    if isinstance(cases, dict) and isinstance(cases.get("cases"), list):
        cases = cases["cases"]
    if not isinstance(cases, list) or not cases or not all(isinstance(c, dict) for c in cases):
        raise InputError(f"{ctx.node.name}: 'Cases' must be a non-empty list of objects "
                         "(e.g. [{\"input\": \"2+2\", \"expected\": \"4\"}])")
    return [c.get("item", c) if isinstance(c.get("item"), dict) else c for c in cases]


def case_template(text: str) -> str:
    """A Prompt with `{field}` placeholders as OpenAI's template (`{{item.field}}`)."""
    return CASE_FIELD.sub(lambda m: "{{item." + m.group(1) + "}}", NAMESPACED.sub(r"{{\1}}", text))


def _criteria_templates(value: Any) -> Any:
    if isinstance(value, str):
        return NAMESPACED.sub(r"{{\1}}", value)
    if isinstance(value, list):
        return [_criteria_templates(v) for v in value]
    if isinstance(value, dict):
        return {k: _criteria_templates(v) for k, v in value.items()}
    return value


@handles("eval.create")
async def create_eval(ctx: NodeContext) -> dict[str, Any]:
    criteria = _criteria_templates(json_value(ctx, "testing_criteria", expect=list))
    if not criteria:
        operation = OPERATIONS.get(str(ctx.inputs.get("check") or "contains"))
        if operation is None:
            raise InputError(f"{ctx.node.name}: 'Check' must be one of {', '.join(OPERATIONS)}")
        criteria = [{"type": "string_check", "name": str(ctx.inputs.get("check") or "contains"),
                     "input": "{{sample.output_text}}", "reference": "{{item.expected}}", "operation": operation}]
    schema = json_value(ctx, "item_schema", expect=dict) or {
        "type": "object", "properties": {"input": {"type": "string"}, "expected": {"type": "string"}},
        "required": ["input", "expected"]}
    params = present(name=ctx.inputs.get("name"),
                     data_source_config={"type": "custom", "item_schema": schema, "include_sample_schema": True},
                     testing_criteria=criteria)
    client = await connect(ctx)
    return to_plain(await api_call(ctx, client.sdk.evals.create(**params, **timeout_kw(ctx))))


def _counts(run: dict[str, Any]) -> str:
    counts = run.get("result_counts") or {}
    return f"{run.get('status')}: {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed"


async def _result(ctx: NodeContext, client: Any, eval_id: str, run: dict[str, Any]) -> dict[str, Any]:
    page = await api_call(ctx, client.sdk.evals.runs.output_items.list(run["id"], eval_id=eval_id, limit=100,
                                                                       **timeout_kw(ctx)))
    cases = []
    for item in (to_plain(i) for i in page.data):
        outputs = (item.get("sample") or {}).get("output") or []
        cases.append({"item": item.get("datasource_item"), "passed": item.get("status") == "pass",
                      "output": outputs[0].get("content") if outputs else None, "results": item.get("results")})
    counts = run.get("result_counts") or {}
    return {"run": run, "passed": counts.get("passed", 0), "failed": counts.get("failed", 0),
            "total": counts.get("total", 0), "cases": cases, "report_url": run.get("report_url")}


def _message(role: str, text: str) -> dict[str, Any]:
    """A template message as an eval item (its content one input_text part: a plain string would
    fit both of the schema's message kinds)."""
    return {"type": "message", "role": role, "content": {"type": "input_text", "text": case_template(text)}}


@handles("eval.run")
async def run_eval(ctx: NodeContext) -> dict[str, Any]:
    eval_id = str(required(ctx, "eval_id")).strip()
    template = [_message("user", str(ctx.inputs.get("prompt") or "{input}"))]
    if ctx.inputs.get("instructions"):
        template.insert(0, _message("developer", str(ctx.inputs["instructions"])))
    source = {"type": "completions", "model": str(ctx.inputs.get("model") or "gpt-4.1-mini"),
              "input_messages": {"type": "template", "template": template},
              "source": {"type": "file_content", "content": [{"item": case} for case in _cases(ctx)]}}
    client = await connect(ctx)
    run = to_plain(await api_call(ctx, client.sdk.evals.runs.create(
        eval_id, data_source=source, **present(name=ctx.inputs.get("name")), **timeout_kw(ctx))))
    if not bool_input(ctx, "wait", default=True):
        return {"run": run}
    run_id = run["id"]

    async def fetch() -> dict[str, Any]:
        return to_plain(await api_call(ctx, client.sdk.evals.runs.retrieve(run_id, eval_id=eval_id,
                                                                           **timeout_kw(ctx))))

    async def cancel() -> Any:
        return await client.sdk.evals.runs.cancel(run_id, eval_id=eval_id)

    run = await poll_until_done(ctx, run, fetch, RUN_DONE, what=f"eval run {run_id}", progress=_counts,
                                cancel=cancel)
    if run.get("status") != "completed":
        raise NodeError(f"{ctx.node.name}: eval run {run_id} ended {run.get('status')}", details={"run": run})
    return await _result(ctx, client, eval_id, run)


@handles("eval.get_run")
async def get_run(ctx: NodeContext) -> dict[str, Any]:
    eval_id, run_id = str(required(ctx, "eval_id")).strip(), str(required(ctx, "run_id")).strip()
    client = await connect(ctx)
    run = to_plain(await api_call(ctx, client.sdk.evals.runs.retrieve(run_id, eval_id=eval_id, **timeout_kw(ctx))))
    if run.get("status") != "completed":
        return {"run": run, "cases": []}
    return await _result(ctx, client, eval_id, run)
