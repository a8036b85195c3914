"""n8n's general nodes onto the core catalog: If, Switch, Filter, Edit Fields (Set), Merge,
Split Out, Loop Over Items, Aggregate, Sort, Limit, Remove Duplicates, Wait, No-op, Stop and
Error, HTTP Request, Respond to Webhook and the OpenAI embeddings sub-node. Versions that store
parameters differently (If/Filter v1 vs v2, Set v1-2 / 3.0-3.2 / 3.3+, Merge v1 / v2 / v3) are
read each in their own shape; modes without an equivalent return None (a placeholder)."""

from __future__ import annotations

import json
from typing import Any

from .conditions import NoEquivalent, options, v1_conditions, v2_conditions
from .context import Context, Mapped, maps
from .triggers import BASE, LANGCHAIN
from .workflow import N8nNode


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _conditions(ctx: Context, n8n: N8nNode) -> dict[str, Any] | None:
    try:
        if n8n.type_version < 2:
            conditions, combinator = v1_conditions(ctx, n8n)
            extra = options(n8n, {})
        else:
            block = n8n.param("conditions", {})
            conditions, combinator = v2_conditions(ctx, n8n, block, "conditions.conditions")
            extra = options(n8n, block)
    except NoEquivalent as exc:
        ctx.report.warnings.append(f"{ctx.names.get(n8n.name)}: {exc}")
        return None
    return {"conditions": conditions, "combinator": combinator, **extra}


@maps(BASE + "if")
def if_node(n8n: N8nNode, ctx: Context) -> Mapped | None:
    values = _conditions(ctx, n8n)
    return None if values is None else Mapped(ctx.make(n8n, "core.if", values), outputs=["true", "false"])


@maps(BASE + "filter")
def filter_node(n8n: N8nNode, ctx: Context) -> Mapped | None:
    values = _conditions(ctx, n8n)
    return None if values is None else Mapped(ctx.make(n8n, "core.filter", values), outputs=["output", "discarded"])


@maps(BASE + "switch")
def switch(n8n: N8nNode, ctx: Context) -> Mapped | None:
    if n8n.type_version < 3 or n8n.param("mode", "rules") != "rules":
        return None  # v1/v2 rules and expression mode have no equivalent
    rules = []
    raw = n8n.param("rules.values", [])
    try:
        for i, rule in enumerate(raw if isinstance(raw, list) else []):
            block = rule.get("conditions", {}) if isinstance(rule, dict) else {}
            conditions, combinator = v2_conditions(ctx, n8n, block, f"rules.values[{i}].conditions.conditions")
            rules.append({"key": f"output_{i}", "conditions": conditions, "combinator": combinator})
    except NoEquivalent as exc:
        ctx.report.warnings.append(f"{ctx.names.get(n8n.name)}: {exc}")
        return None
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    fallback = opts.get("fallbackOutput", "none")
    values: dict[str, Any] = {"rules": rules, "all_matching": bool(opts.get("allMatchingOutputs", False)),
                              "fallback": "extra" if fallback == "extra" else "first" if fallback == 0 else "none",
                              **options(n8n, {})}
    outputs = [r["key"] for r in rules] + (["fallback"] if fallback == "extra" else [])
    return Mapped(ctx.make(n8n, "core.switch", values), outputs=outputs)


_SET_TYPES = {"stringValue": "string", "numberValue": "number", "booleanValue": "boolean",
              "arrayValue": "array", "objectValue": "object"}


@maps(BASE + "set")
def set_node(n8n: N8nNode, ctx: Context) -> Mapped:
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    values: dict[str, Any] = {"dot_notation": opts.get("dotNotation", True) is not False,
                              "ignore_conversion_errors": bool(opts.get("ignoreConversionErrors", False))}
    assignments: list[dict[str, Any]] = []
    if n8n.type_version < 3:
        block = n8n.param("values", {})
        for kind in ("string", "number", "boolean"):
            rows = block.get(kind) if isinstance(block, dict) else None
            for i, row in enumerate(rows if isinstance(rows, list) else []):
                if isinstance(row, dict) and row.get("name"):
                    default = {"string": "", "number": 0, "boolean": False}[kind]
                    assignments.append({"name": row["name"], "type": kind,
                                        "value": ctx.value(n8n, f"values.{kind}[{i}].value", row.get("value", default))})
        values["include"] = "none" if n8n.param("keepOnlySet", False) else "all"
    else:
        if n8n.param("mode", "manual") == "raw":
            values["mode"] = "json"
            raw = ctx.param(n8n, "jsonOutput", "{}")
            try:
                values["json_output"] = json.loads(raw) if isinstance(raw, str) and "{{" not in raw else raw
            except ValueError:
                values["json_output"] = raw
        elif n8n.type_version >= 3.3:
            rows = n8n.param("assignments.assignments", [])
            for i, row in enumerate(rows if isinstance(rows, list) else []):
                if isinstance(row, dict) and row.get("name"):
                    assignments.append({"name": row["name"], "type": row.get("type", "string"),
                                        "value": ctx.value(n8n, f"assignments[{i}].value", row.get("value", ""))})
        else:
            rows = n8n.param("fields.values", [])
            for i, row in enumerate(rows if isinstance(rows, list) else []):
                if isinstance(row, dict) and row.get("name"):
                    key = row.get("type", "stringValue")
                    assignments.append({"name": row["name"], "type": _SET_TYPES.get(key, "string"),
                                        "value": ctx.value(n8n, f"fields[{i}].{key}", row.get(key, ""))})
        if n8n.type_version >= 3.3 and not n8n.param("includeOtherFields", False):
            values["include"] = "none"
        else:
            include = n8n.param("include", "all")
            values["include"] = {"all": "all", "none": "none", "selected": "selected", "except": "except"}.get(include, "all")
            if include == "selected":
                values["include_fields"] = _split(n8n.param("includeFields", ""))
            elif include == "except":
                values["include_fields"] = _split(n8n.param("excludeFields", ""))
    values["assignments"] = assignments
    return Mapped(ctx.make(n8n, "core.set", values))


_JOIN = {"keepMatches": "keep_matches", "keepNonMatches": "keep_non_matches", "keepEverything": "keep_everything",
         "enrichInput1": "enrich_1", "enrichInput2": "enrich_2"}
_BRANCH = {"input1": "input_1", "input2": "input_2", "empty": "empty"}


def _merge_values(n8n: N8nNode) -> dict[str, Any] | None:
    mode = n8n.param("mode", "append")
    if mode == "append":
        return {"mode": "append"}
    if n8n.type_version < 2:
        if mode == "mergeByIndex":
            return {"mode": "by_position", "include_unpaired": n8n.param("join", "inner") == "outer"}
        if mode == "mergeByKey":
            return {"mode": "by_key", "key_1": n8n.param("propertyName1", ""), "key_2": n8n.param("propertyName2", ""),
                    "join": "enrich_1"}
        if mode in ("wait", "passThrough"):
            out = n8n.param("output", "input1") if mode == "passThrough" else "empty"
            return {"mode": "wait", "output_branch": _BRANCH.get(out, "input_1")}
        return None
    if mode == "chooseBranch":
        out = n8n.param("output", "input1") if n8n.type_version < 3 else n8n.param("useDataOfInput", 1)
        out = {1: "input1", 2: "input2"}.get(out, out) if not isinstance(out, str) else out
        if n8n.type_version >= 3 and n8n.param("chooseBranchMode", "waitForAll") != "waitForAll":
            return None
        return {"mode": "wait", "output_branch": _BRANCH.get(out, "input_1")}
    if mode == "combine":
        how = n8n.param("combinationMode" if n8n.type_version < 3 else "combineBy",
                        "mergeByFields" if n8n.type_version < 3 else "combineByFields")
        if how in ("mergeByPosition", "combineByPosition"):
            opts = n8n.param("options", {})
            return {"mode": "by_position", "include_unpaired": bool(isinstance(opts, dict) and opts.get("includeUnpaired"))}
        if how in ("mergeByFields", "combineByFields"):
            if n8n.type_version < 3 or n8n.param("advanced", False):
                pairs = n8n.param("mergeByFields.values", [])
                pair = pairs[0] if isinstance(pairs, list) and pairs and isinstance(pairs[0], dict) else {}
                key_1, key_2 = pair.get("field1", ""), pair.get("field2", "")
            else:
                key_1 = key_2 = (_split(n8n.param("fieldsToMatchString", "")) or [""])[0]
            return {"mode": "by_key", "key_1": key_1, "key_2": key_2,
                    "join": _JOIN.get(n8n.param("joinMode", "keepMatches"), "keep_matches")}
    return None


@maps(BASE + "merge")
def merge(n8n: N8nNode, ctx: Context) -> Mapped | None:
    if n8n.type_version >= 3 and isinstance(n8n.param("numberInputs"), int) and n8n.param("numberInputs") > 2:
        return None
    values = _merge_values(n8n)
    if values is None:
        return None
    return Mapped(ctx.make(n8n, "core.merge", {k: ctx.value(n8n, k, v) for k, v in values.items()}),
                  inputs=["input_1", "input_2"])


@maps(BASE + "splitOut")
def split_out(n8n: N8nNode, ctx: Context) -> Mapped:
    include = {"noOtherFields": "none", "allOtherFields": "all", "selectedOtherFields": "selected"}
    opts = n8n.param("options", {})
    values = {"field_to_split": ctx.param(n8n, "fieldToSplitOut", ""),
              "include": include.get(n8n.param("include", "noOtherFields"), "none"),
              "fields_to_include": _split(n8n.param("fieldsToInclude", "")) or None,
              "destination_field": opts.get("destinationFieldName") if isinstance(opts, dict) else None}
    return Mapped(ctx.make(n8n, "core.split_out", values))


@maps(BASE + "splitInBatches")
def loop(n8n: N8nNode, ctx: Context) -> Mapped | None:
    if n8n.type_version < 3:
        return None  # the old one-output loop that wires back by hand has no equivalent
    return Mapped(ctx.make(n8n, "core.loop", {"batch_size": ctx.param(n8n, "batchSize", 1)}), outputs=["done", "loop"])


@maps(BASE + "aggregate")
def aggregate(n8n: N8nNode, ctx: Context) -> Mapped:
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    values: dict[str, Any] = {"merge_lists": bool(opts.get("mergeLists", False)),
                              "keep_missing": bool(opts.get("keepMissing", False))}
    if n8n.param("aggregate", "aggregateIndividualFields") == "aggregateAllItemData":
        values.update(mode="all", destination_field=n8n.param("destinationFieldName", "data"))
    else:
        rows = n8n.param("fieldsToAggregate.fieldToAggregate", [])
        fields = []
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("fieldToAggregate"):
                item = {"field": row["fieldToAggregate"]}
                if row.get("renameField") and row.get("outputFieldName"):
                    item["rename"] = row["outputFieldName"]
                fields.append(item)
        values.update(mode="fields", fields=fields)
    return Mapped(ctx.make(n8n, "core.aggregate", values))


@maps(BASE + "sort")
def sort(n8n: N8nNode, ctx: Context) -> Mapped | None:
    kind = n8n.param("type", "simple")
    if kind == "random":
        return Mapped(ctx.make(n8n, "core.sort", {"type": "random"}))
    if kind != "simple":
        return None  # code sort
    rows = n8n.param("sortFieldsUi.sortField", [])
    fields = [{"field": r.get("fieldName", ""), "order": r.get("order", "ascending")}
              for r in (rows if isinstance(rows, list) else []) if isinstance(r, dict)]
    return Mapped(ctx.make(n8n, "core.sort", {"type": "simple", "fields": fields}))


@maps(BASE + "limit")
def limit(n8n: N8nNode, ctx: Context) -> Mapped:
    return Mapped(ctx.make(n8n, "core.limit", {"max_items": ctx.param(n8n, "maxItems", 1),
                                               "keep": "last" if n8n.param("keep") == "lastItems" else "first"}))


@maps(BASE + "removeDuplicates")
def remove_duplicates(n8n: N8nNode, ctx: Context) -> Mapped | None:
    if n8n.type_version >= 2 and n8n.param("operation", "removeDuplicateInputItems") != "removeDuplicateInputItems":
        return None  # "seen in previous executions" keeps state between runs
    compare = n8n.param("compare", "allFields")
    values: dict[str, Any] = {"compare": {"allFields": "all_fields", "selectedFields": "selected_fields",
                                          "allFieldsExcept": "all_except"}.get(compare, "all_fields")}
    if compare == "selectedFields":
        values["fields"] = _split(n8n.param("fieldsToCompare", ""))
    elif compare == "allFieldsExcept":
        values["fields"] = _split(n8n.param("fieldsToExclude", ""))
    return Mapped(ctx.make(n8n, "core.remove_duplicates", values))


@maps(BASE + "wait")
def wait(n8n: N8nNode, ctx: Context) -> Mapped | None:
    if n8n.param("resume", "timeInterval") != "timeInterval":
        return None  # webhook, form and specific-time waits
    return Mapped(ctx.make(n8n, "core.wait", {"amount": ctx.param(n8n, "amount", 1), "unit": n8n.param("unit", "hours")}))


@maps(BASE + "noOp")
def noop(n8n: N8nNode, ctx: Context) -> Mapped:
    return Mapped(ctx.make(n8n, "core.noop", {}))


@maps(BASE + "stopAndError")
def stop_and_error(n8n: N8nNode, ctx: Context) -> Mapped:
    if n8n.param("errorType", "errorMessage") == "errorObject":
        raw = ctx.param(n8n, "errorObject", "{}")
        try:
            obj = json.loads(raw) if isinstance(raw, str) and "{{" not in raw else raw
        except ValueError:
            obj = {"message": raw}
        return Mapped(ctx.make(n8n, "core.stop_and_error", {"error_type": "object", "error_object": obj}))
    return Mapped(ctx.make(n8n, "core.stop_and_error", {"error_type": "message",
                                                        "message": ctx.param(n8n, "errorMessage", "")}))


def _pairs(ctx: Context, n8n: N8nNode, key: str) -> dict[str, Any] | None:
    rows = n8n.param(key, [])
    out = {}
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        if isinstance(row, dict) and row.get("name"):
            out[str(row["name"])] = ctx.value(n8n, f"{key}[{i}].value", row.get("value", ""))
    return out or None


def _json_param(ctx: Context, n8n: N8nNode, key: str) -> Any:
    raw = ctx.param(n8n, key, "")
    if isinstance(raw, str) and "{{" not in raw:
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError:
            return raw
    return raw


@maps(BASE + "httpRequest")
def http_request(n8n: N8nNode, ctx: Context) -> Mapped | None:
    if n8n.type_version < 3:
        return _http_v1(n8n, ctx)
    values = {"method": n8n.param("method", "GET"), "url": ctx.param(n8n, "url", "")}
    if n8n.param("authentication", "none") != "none":
        values["authentication"] = "connection"
    if n8n.param("sendQuery", False):
        values["query"] = (_pairs(ctx, n8n, "queryParameters.parameters")
                           if n8n.param("specifyQuery", "keypair") == "keypair" else _json_param(ctx, n8n, "jsonQuery"))
    if n8n.param("sendHeaders", False):
        values["headers"] = (_pairs(ctx, n8n, "headerParameters.parameters")
                             if n8n.param("specifyHeaders", "keypair") == "keypair" else _json_param(ctx, n8n, "jsonHeaders"))
    if n8n.param("sendBody", False):
        content = n8n.param("contentType", "json")
        if content == "raw":
            values.update(body_type="raw", raw_body=ctx.param(n8n, "body", ""),
                          raw_content_type=n8n.param("rawContentType", "text/plain"))
        elif content in ("json", "form-urlencoded", "multipart-form-data"):
            values["body_type"] = {"json": "json", "form-urlencoded": "form", "multipart-form-data": "multipart"}[content]
            if content == "json" and n8n.param("specifyBody", "keypair") == "json":
                values["body"] = _json_param(ctx, n8n, "jsonBody")
            else:
                values["body"] = _pairs(ctx, n8n, "bodyParameters.parameters")
        else:
            return None  # binary body
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    response = opts.get("response", {}).get("response", {}) if isinstance(opts.get("response"), dict) else {}
    if isinstance(response, dict):
        fmt = response.get("responseFormat", "autodetect")
        values["response_format"] = {"autodetect": "auto", "json": "json", "text": "text", "file": "file"}.get(fmt, "auto")
        values["full_response"] = bool(response.get("fullResponse", False))
        values["never_error"] = bool(response.get("neverError", False))
    if isinstance(opts.get("timeout"), (int, float)):
        values["timeout_ms"] = int(opts["timeout"])
    return Mapped(ctx.make(n8n, "http.request", values))


def _http_v1(n8n: N8nNode, ctx: Context) -> Mapped | None:
    """HTTP Request v1/v2: requestMethod, `*Ui.parameter` lists or JSON parameters, a response
    format of json (default), string or file."""
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    values: dict[str, Any] = {"method": n8n.param("requestMethod", "GET"), "url": ctx.param(n8n, "url", ""),
                              "response_format": {"json": "json", "string": "text", "file": "file"}.get(
                                  n8n.param("responseFormat", "json"), "auto"),
                              "full_response": bool(opts.get("fullResponse", False))}
    if n8n.param("jsonParameters", False):
        values.update(query=_json_param(ctx, n8n, "queryParametersJson"),
                      headers=_json_param(ctx, n8n, "headerParametersJson"),
                      body=_json_param(ctx, n8n, "bodyParametersJson"))
    else:
        values.update(query=_pairs(ctx, n8n, "queryParametersUi.parameter"),
                      headers=_pairs(ctx, n8n, "headerParametersUi.parameter"),
                      body=_pairs(ctx, n8n, "bodyParametersUi.parameter"))
    if values.get("body") not in (None, "", {}):
        content = opts.get("bodyContentType", "json")
        if content not in ("json", "form-urlencoded", "multipart-form-data"):
            return None  # raw or binary bodies
        values["body_type"] = {"json": "json", "form-urlencoded": "form", "multipart-form-data": "multipart"}[content]
    if isinstance(opts.get("timeout"), (int, float)):
        values["timeout_ms"] = int(opts["timeout"])
    return Mapped(ctx.make(n8n, "http.request", values))


@maps(BASE + "respondToWebhook")
def respond(n8n: N8nNode, ctx: Context) -> Mapped | None:
    kind = n8n.param("respondWith", "firstIncomingItem")
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    values: dict[str, Any] = {"status_code": opts.get("responseCode")}
    headers = opts.get("responseHeaders", {}).get("entries") if isinstance(opts.get("responseHeaders"), dict) else None
    if isinstance(headers, list):
        values["headers"] = {str(h.get("name")): ctx.value(n8n, "responseHeaders", h.get("value", ""))
                             for h in headers if isinstance(h, dict) and h.get("name")} or None
    if kind in ("firstIncomingItem", "allIncomingItems"):
        values["respond_with"] = "input"
    elif kind == "json":
        values.update(respond_with="json", response_json=_json_param(ctx, n8n, "responseBody"))
    elif kind == "text":
        values.update(respond_with="text", response_text=ctx.param(n8n, "responseBody", ""))
    elif kind == "noData":
        values["respond_with"] = "no_data"
    elif kind == "redirect":
        values.update(respond_with="redirect", redirect_url=ctx.param(n8n, "redirectURL", ""))
    else:
        return None  # binary and JWT answers
    return Mapped(ctx.make(n8n, "webhook.respond", values))


@maps(LANGCHAIN + "embeddingsOpenAi")
def embeddings(n8n: N8nNode, ctx: Context) -> Mapped:
    opts = n8n.param("options", {})
    opts = opts if isinstance(opts, dict) else {}
    return Mapped(ctx.make(n8n, "embeddings.create", {"model": ctx.param(n8n, "model", "text-embedding-3-small" if n8n.type_version >= 1.1 else "text-embedding-ada-002"),
                                                      "dimensions": opts.get("dimensions")}))
