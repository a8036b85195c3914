"""The n8n importer's mapping, node by node and version by version, without running anything:
what each n8n node becomes, the defaults a version applies to omitted parameters, wires onto our
ports, expressions in our syntax, placeholders, pins, credentials and secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.catalog import load_catalog
from studio.flow.validate import validate_flow
from studio.importers.n8n import NotAnN8nWorkflow, convert
from studio.importers.n8n.expressions import Untranslatable, translate_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "n8n"
OPENAI = "@n8n/n8n-nodes-langchain.openAi"
V1 = [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8]
V2 = [2, 2.1]


def workflow(*nodes, connections=None, **extra):
    return {"name": "t", "nodes": list(nodes), "connections": connections or {}, **extra}


def node(name, type_, version=1, params=None, **extra):
    return {"name": name, "type": type_, "typeVersion": version, "parameters": params or {}, "position": [10, 20], **extra}


def manual():
    return node("Start", "n8n-nodes-base.manualTrigger")


def main(*pairs):
    out = {}
    for source, target, *idx in pairs:
        o, i = (idx + [0, 0])[:2]
        outputs = out.setdefault(source, {"main": []})["main"]
        while len(outputs) <= o:
            outputs.append([])
        outputs[o].append({"node": target, "type": "main", "index": i})
    return out


def imported(*nodes, connections=None, **extra):
    result = convert(workflow(*nodes, connections=connections, **extra))
    assert validate_flow(result.flow, load_catalog()) == []
    return result


def by_name(result, name):
    return result.flow.node_by_name(name)


V1_OPERATIONS = {
    ("text", "message"): "chat.create_completion", ("text", "classify"): "moderation.classify",
    ("image", "analyze"): "image.analyze", ("image", "generate"): "image.generate",
    ("audio", "generate"): "audio.speech", ("audio", "transcribe"): "audio.transcribe",
    ("audio", "translate"): "audio.translate", ("file", "upload"): "file.upload", ("file", "list"): "file.list",
    ("file", "deleteFile"): "file.delete", ("assistant", "create"): "assistant.create",
    ("assistant", "deleteAssistant"): "assistant.delete", ("assistant", "list"): "assistant.list",
    ("assistant", "message"): "assistant.message", ("assistant", "update"): "assistant.update",
}
V2_ONLY_OPERATIONS = {
    ("text", "response"): "responses.create", ("image", "edit"): "image.edit", ("video", "generate"): "video.create",
    ("conversation", "create"): "conversation.create", ("conversation", "get"): "conversation.retrieve",
    ("conversation", "update"): "conversation.update", ("conversation", "remove"): "conversation.delete",
}
V2_OPERATIONS = {k: v for k, v in V1_OPERATIONS.items() if k[0] != "assistant"} | V2_ONLY_OPERATIONS


@pytest.mark.parametrize("version,resource,operation,action",
                         [(v, r, o, a) for v in V1 for (r, o), a in V1_OPERATIONS.items()]
                         + [(v, r, o, a) for v in V2 for (r, o), a in V2_OPERATIONS.items()])
def test_every_openai_operation_of_every_version_maps_to_its_action(version, resource, operation, action):
    result = imported(manual(), node("AI", OPENAI, version, {"resource": resource, "operation": operation}),
                      connections=main(("Start", "AI")))
    assert by_name(result, "AI").action == action
    assert result.report.placeholders == []


@pytest.mark.parametrize("version,resource,action", [(1, "text", "chat.create_completion"), (1.8, "image", "image.generate"),
                                                       (2.1, "audio", "audio.speech"), (1.3, "file", "file.upload"),
                                                       (1.5, "assistant", "assistant.message")])
def test_omitted_resource_and_operation_take_the_versions_defaults(version, resource, action):
    params = {} if resource == "text" else {"resource": resource}
    assert by_name(imported(manual(), node("AI", OPENAI, version, params)), "AI").action == action


@pytest.mark.parametrize("resource,operation", sorted(V2_ONLY_OPERATIONS))
def test_v2_only_operations_in_a_v1_node_and_assistants_in_a_v2_node_are_placeholders(resource, operation):
    result = imported(manual(), node("Old", OPENAI, 1.8, {"resource": resource, "operation": operation}),
                      node("Asst", OPENAI, 2.1, {"resource": "assistant", "operation": "list"}))
    assert {p["name"] for p in result.report.placeholders} == {"Old", "Asst"}
    assert all(by_name(result, n).action == "unsupported.n8n" for n in ("Old", "Asst"))


def test_image_edit_takes_the_upstream_image_with_each_models_settings_and_reports_binary_fields():
    result = imported(manual(), node("Edit", OPENAI, 2.1, {"resource": "image", "operation": "edit", "prompt": "x",
                                                           "images": {"values": [{"binaryPropertyName": "a"},
                                                                                 {"binaryPropertyName": "b"}]},
                                                           "outputFormat": "webp",
                                                           "options": {"imageMask": "mask", "inputFidelity": "high"}}),
                      node("Dalle", OPENAI, 2, {"resource": "image", "operation": "edit", "model": "dall-e-2",
                                                "prompt": "y", "size": "512x512", "quality": "high"}))
    edit = by_name(result, "Edit").values
    assert edit == {"model": "gpt-image-1", "prompt": "x", "images": "{{ input }}", "n": 1, "size": "1024x1024",
                    "quality": "auto", "output_format": "webp", "output_compression": 100, "input_fidelity": "high"}
    dalle = by_name(result, "Dalle").values
    assert dalle == {"model": "dall-e-2", "prompt": "y", "images": "{{ input }}", "n": 1, "size": "512x512"}
    warnings = " ".join(result.report.warnings)
    assert "Edit: n8n's 2 image fields" in warnings and "'mask'" in warnings and "Dalle" not in warnings


def test_video_generate_waits_for_the_video_with_n8ns_defaults():
    result = imported(manual(), node("Video", OPENAI, 2, {"resource": "video"}),
                      node("Short", OPENAI, 2.1, {"resource": "video", "prompt": "={{ $json.idea }}", "seconds": 8,
                                                  "size": "720x1280", "options": {"waitTime": 90}}))
    assert by_name(result, "Video").values == {"model": "sora-2", "prompt": "A video of a cat playing with a ball",
                                               "seconds": "4", "size": "1280x720", "wait": True, "max_wait_s": 300}
    short = by_name(result, "Short").values
    assert short["prompt"] == "{{ input.idea }}" and short["seconds"] == "8" and short["max_wait_s"] == 90


def test_conversation_operations_carry_messages_metadata_and_ids():
    result = imported(manual(),
                      node("New", OPENAI, 2, {"resource": "conversation",
                                              "messages": {"values": [{"role": "assistant", "content": "Hi"},
                                                                      {"content": "={{ $json.q }}"}, {"type": "text"}]},
                                              "options": {"metadata": '{"a": "1"}'}}),
                      node("Empty", OPENAI, 2, {"resource": "conversation", "operation": "create"}),
                      node("Tag", OPENAI, 2.1, {"resource": "conversation", "operation": "update",
                                                "conversationId": "conv_1", "metadata": '{"b": "2"}'}),
                      node("Drop", OPENAI, 2.1, {"resource": "conversation", "operation": "remove",
                                                 "conversationId": "={{ $json.id }}"}))
    assert by_name(result, "New").values == {"items": [{"role": "assistant", "content": "Hi"},
                                                       {"role": "user", "content": "{{ input.q }}"}],
                                             "metadata": {"a": "1"}}
    assert by_name(result, "Empty").values == {}
    assert by_name(result, "Tag").values == {"conversation_id": "conv_1", "metadata": {"b": "2"}}
    assert by_name(result, "Drop").values == {"conversation_id": "{{ input.id }}"}


def test_image_analyze_model_depends_on_the_version():
    result = imported(manual(), node("Before", OPENAI, 1.3, {"resource": "image", "operation": "analyze"}),
                      node("After", OPENAI, 1.4, {"resource": "image", "operation": "analyze"}),
                      node("Chosen", OPENAI, 1.4, {"resource": "image", "operation": "analyze",
                                                   "modelId": {"__rl": True, "value": "gpt-4.1", "mode": "list"}}))
    assert by_name(result, "Before").values["model"] == "gpt-4-vision-preview"
    assert by_name(result, "After").values["model"] == "gpt-4o"
    assert by_name(result, "Chosen").values["model"] == "gpt-4.1"
    assert by_name(result, "After").values["text"] == "What's in this image?"  # n8n's default prompt


def test_image_generate_defaults_per_major_version_and_text_message_defaults():
    result = imported(manual(), node("V1", OPENAI, 1.1, {"resource": "image", "prompt": "x"}),
                      node("V2", OPENAI, 2, {"resource": "image", "prompt": "x"}),
                      node("Msg", OPENAI, 1, {"modelId": {"__rl": True, "value": "gpt-4o-mini", "mode": "list"}}))
    assert by_name(result, "V1").values["model"] == "dall-e-3"
    assert by_name(result, "V1").values["response_format"] == "b64_json"
    assert by_name(result, "V2").values["model"] == "gpt-image-1"
    msg = by_name(result, "Msg").values
    assert msg["model"] == "gpt-4o-mini" and msg["simplify"] is True and msg["json_output"] is False
    assert msg["messages"] == [{"role": "user", "content": ""}]


def test_assistant_message_thread_and_tools_options_follow_the_version():
    params = {"resource": "assistant", "assistantId": {"__rl": True, "value": "asst_1", "mode": "id"},
              "memory": "threadId", "threadId": "thread_9"}
    result = imported(manual(), node("Old", OPENAI, 1.2, params), node("New", OPENAI, 1.6, params))
    old, new = by_name(result, "Old").values, by_name(result, "New").values
    assert old["assistant_id"] == new["assistant_id"] == "asst_1"
    assert "thread_id" not in old and new["thread_id"] == "thread_9"
    assert "preserve_original_tools" not in old and new["preserve_original_tools"] is True
    assert new["prompt"] == "{{ input.chatInput }}"  # 'take from previous node' reads chatInput


@pytest.mark.parametrize("n8n,ours", [
    ("={{ $json.x }}", "{{ input.x }}"),
    ("={{ $json['a b'][0].c }}", '{{ input["a b"][0].c }}'),
    ("=Hi {{ $json.name }}!", "Hi {{ input.name }}!"),
    ("={{ $('My Node').item.json.f }}", '{{ nodes["My Node"].output.f }}'),
    ("={{ $(\"Ask\").first().json }}", "{{ nodes.Ask.output }}"),
    ("={{ $node[\"Ask\"].json.choices[0] }}", "{{ nodes.Ask.output.choices[0] }}"),
    ("={{ $input.first().json.id }}", "{{ input.id }}"),
    ("={{ $input.item.json.rows.length }}", "{{ input.rows | length }}"),
    ("plain {{ text }}", "plain {{ text }}"),
    ("=just text", "just text"),
])
def test_expressions_that_mean_the_same_are_translated(n8n, ours):
    names = {"My Node": "My Node", "Ask": "Ask"}
    assert translate_text(n8n, names.get) == ours


@pytest.mark.parametrize("n8n", ["={{ $now }}", "={{ $json.a + 1 }}", "={{ $json.name.toUpperCase() }}",
                                 "={{ $('Missing').item.json.x }}", "={{ $('Ask').all() }}", "={{ $workflow.id }}"])
def test_expressions_without_an_equivalent_are_refused(n8n):
    with pytest.raises(Untranslatable):
        translate_text(n8n, {"Ask": "Ask"}.get)


def test_untranslated_expressions_stay_as_text_and_are_listed():
    result = imported(manual(), node("Ask", OPENAI, 1.8, {"messages": {"values": [{"content": "=Now: {{ $now }}"}]}}),
                      connections=main(("Start", "Ask")))
    assert by_name(result, "Ask").values["messages"][0]["content"] == "Now: {{ $now }}"
    assert result.report.untranslated_expressions == [
        {"node": "Ask", "field": "messages.values[0].content", "expression": "Now: {{ $now }}"}]


def test_names_become_legal_and_expressions_follow_the_new_names():
    result = imported(node("When clicking ‘Test workflow’", "n8n-nodes-base.manualTrigger"),
                      node("Edit Fields (Set)", "n8n-nodes-base.noOp"),
                      node("Ask", OPENAI, 1.8, {"messages": {"values": [
                          {"content": "={{ $('Edit Fields (Set)').item.json.x }}"}]}}),
                      connections=main(("When clicking ‘Test workflow’", "Edit Fields (Set)"), ("Edit Fields (Set)", "Ask")))
    names = [n.name for n in result.flow.nodes]
    assert names == ["When clicking Test workflow", "Edit Fields Set", "Ask"]
    assert by_name(result, "Ask").values["messages"][0]["content"] == '{{ nodes["Edit Fields Set"].output.x }}'


def test_if_switch_and_merge_outputs_and_inputs_map_to_our_ports():
    cond = {"conditions": [{"leftValue": "={{ $json.n }}", "rightValue": 3,
                            "operator": {"type": "number", "operation": "gte"}}], "combinator": "or"}
    rules = {"values": [{"conditions": {"conditions": [{"leftValue": "={{ $json.k }}", "rightValue": "a",
                                                         "operator": {"type": "string", "operation": "equals"}}]}}]}
    result = imported(manual(), node("If", "n8n-nodes-base.if", 2.2, {"conditions": cond}),
                      node("Sw", "n8n-nodes-base.switch", 3.2, {"rules": rules, "options": {"fallbackOutput": "extra"}}),
                      node("A", "n8n-nodes-base.noOp"), node("B", "n8n-nodes-base.noOp"),
                      node("M", "n8n-nodes-base.merge", 3),
                      connections=main(("Start", "If"), ("If", "Sw", 0), ("If", "M", 1, 1), ("Sw", "A", 0), ("Sw", "B", 1),
                                       ("A", "M", 0, 0)))
    ports = {(result.flow.node(w.source.node).name, w.source.port, result.flow.node(w.target.node).name, w.target.port)
             for w in result.flow.wires}
    assert ("If", "true", "Sw", "in") in ports and ("If", "false", "M", "input_2") in ports
    assert ("Sw", "output_0", "A", "in") in ports and ("Sw", "fallback", "B", "in") in ports
    assert ("A", "output", "M", "input_1") in ports
    assert by_name(result, "If").values["conditions"] == [{"left": "{{ input.n }}", "operator": "number.gte", "right": 3}]
    assert by_name(result, "If").values["combinator"] == "or"


def test_set_versions_read_their_own_shapes():
    result = imported(
        manual(),
        node("V2", "n8n-nodes-base.set", 2, {"keepOnlySet": True, "values": {"number": [{"name": "n", "value": 2}]}}),
        node("V32", "n8n-nodes-base.set", 3.2, {"fields": {"values": [{"name": "s", "stringValue": "={{ $json.a }}"}]}}),
        node("V34", "n8n-nodes-base.set", 3.4, {"assignments": {"assignments": [{"name": "b", "type": "boolean",
                                                                                 "value": True}]}}))
    assert by_name(result, "V2").values["assignments"] == [{"name": "n", "type": "number", "value": 2}]
    assert by_name(result, "V2").values["include"] == "none"
    assert by_name(result, "V32").values["assignments"] == [{"name": "s", "type": "string", "value": "{{ input.a }}"}]
    assert by_name(result, "V32").values["include"] == "all"
    assert by_name(result, "V34").values["include"] == "none"  # includeOtherFields defaults to false from 3.3


def test_wait_defaults_to_one_hour_and_loop_back_wires_are_dropped():
    result = imported(manual(), node("Each", "n8n-nodes-base.splitInBatches", 3), node("Pause", "n8n-nodes-base.wait", 1.1),
                      node("Done", "n8n-nodes-base.noOp"),
                      connections=main(("Start", "Each"), ("Each", "Done", 0), ("Each", "Pause", 1), ("Pause", "Each")))
    assert by_name(result, "Pause").values == {"amount": 1, "unit": "hours"}
    ports = {(result.flow.node(w.source.node).name, w.source.port, result.flow.node(w.target.node).name)
             for w in result.flow.wires}
    assert ports == {("Start", "output", "Each"), ("Each", "done", "Done"), ("Each", "loop", "Pause")}


def test_agent_folds_its_model_memory_and_parser_and_wires_workflow_tools():
    result = convert(json.loads((FIXTURES / "agent-chat.json").read_text(encoding="utf-8")))
    flow = result.flow
    assert validate_flow(flow, load_catalog()) == []
    config, run = by_name(result, "AI Agent config"), by_name(result, "AI Agent")
    assert (config.action, run.action) == ("agent.create", "agent.run")
    assert config.values["model"] == "gpt-4o-mini" and config.values["instructions"] == "You help with cities."
    assert config.values["output_schema"]["properties"]["sources"] == {"type": "array", "items": {"type": "string"}}
    assert run.values["history"] == "{{ trigger.history }}" and run.values["user_input"] == "{{ input.chatInput }}"
    tool = by_name(result, "City facts")
    assert tool.action == "agent.create_flow_tool" and tool.values["flow_name"] == "City Facts"
    wires = {(flow.node(w.source.node).name, w.source.port, flow.node(w.target.node).name, w.target.port) for w in flow.wires}
    assert ("City facts", "tool", "AI Agent config", "tools") in wires
    assert ("AI Agent config", "agent", "AI Agent", "agent") in wires
    names = {n.name for n in flow.nodes}
    assert not names & {"OpenAI Chat Model", "Window Buffer Memory", "Structured Output Parser", "Chain model"}
    chain = by_name(result, "Summarize")
    assert chain.action == "chat.create_completion" and chain.values["temperature"] == 0.3
    assert chain.values["messages"][-1] == {"role": "user", "content": "Summarize: {{ input.final_output.answer }}"}  # n8n: $json.output.answer
    assert by_name(result, "When chat message received").values["reply_node"] == "Summarize"
    assert [n.text for n in flow.notes] == ["## Chat about cities\nAsk anything."]
    assert result.report.converted == result.report.nodes == 9


def test_unknown_nodes_are_placeholders_that_keep_name_position_parameters_and_wires():
    result = imported(node("Telegram Trigger", "n8n-nodes-base.telegramTrigger", 1.1, {"updates": ["message"]}),
                      node("Code", "n8n-nodes-base.code", 2, {"jsCode": "return items;"}),
                      node("Sheets", "n8n-nodes-base.googleSheets", 4.5, {"operation": "append"}),
                      node("Ask", OPENAI, 1.8),
                      connections=main(("Telegram Trigger", "Code"), ("Code", "Ask", 0), ("Code", "Sheets", 1)))
    flow = result.flow
    assert {(p["name"], p["type"]) for p in result.report.placeholders} == {
        ("Telegram Trigger", "n8n-nodes-base.telegramTrigger"), ("Code", "n8n-nodes-base.code"),
        ("Sheets", "n8n-nodes-base.googleSheets")}
    code = by_name(result, "Code")
    assert code.values["parameters"] == {"jsCode": "return items;"} and code.values["n8n_type_version"] == 2
    assert (code.position.x, code.position.y) == (10, 20)
    wires = {(flow.node(w.source.node).name, w.source.port, flow.node(w.target.node).name) for w in flow.wires}
    assert ("Code", "output", "Ask") in wires and ("Code", "output_1", "Sheets") in wires
    # No trigger has an equivalent: a Manual Trigger starts the flow and feeds the unknown trigger.
    assert flow.nodes[0].action == "trigger.manual" and ("Start", "output", "Telegram Trigger") in wires


def test_extra_triggers_hand_their_wires_to_the_one_trigger():
    result = imported(manual(), node("Every day", "n8n-nodes-base.scheduleTrigger", 1.2), node("Do", "n8n-nodes-base.noOp"),
                      connections=main(("Start", "Do"), ("Every day", "Do")))
    assert [n.name for n in result.flow.nodes if n.action.startswith("trigger.")] == ["Start"]
    assert any("Every day" in w for w in result.report.warnings)


@pytest.mark.parametrize("rule,expected", [
    ({"field": "minutes", "minutesInterval": 15}, {"interval_seconds": 900}),
    ({"field": "hours", "hoursInterval": 2, "triggerAtMinute": 15}, {"cron": "15 */2 * * *"}),
    ({}, {"cron": "0 0 * * *"}),  # n8n's default rule: every day at midnight
    ({"field": "weeks", "triggerAtDay": [1, 3], "triggerAtHour": 9}, {"cron": "0 9 * * 1,3"}),
    ({"field": "cronExpression", "expression": "0 30 8 * * 1-5"}, {"cron": "30 8 * * 1-5"}),
])
def test_schedule_rules_become_cron_or_intervals(rule, expected):
    params = {"rule": {"interval": [rule]}} if rule else {}
    trigger = by_name(imported(node("Sched", "n8n-nodes-base.scheduleTrigger", 1.2, params)), "Sched")
    assert {k: v for k, v in trigger.values.items() if k != "timezone"} == expected


def test_pins_credentials_and_secrets():
    result = imported(
        manual(),
        node("Ask", OPENAI, 1.8, credentials={"openAiApi": {"id": "7", "name": "Work key"}}),
        node("Call", "n8n-nodes-base.httpRequest", 4.2, {
            "url": "https://api.example.com/x", "sendHeaders": True,
            "headerParameters": {"parameters": [{"name": "Authorization", "value": "Bearer sk-live-123"}]}}),
        connections=main(("Start", "Ask"), ("Ask", "Call")),
        pinData={"Ask": [{"json": {"answer": 42}}], "Start": [{"json": {"a": 1}}, {"json": {"a": 2}}]})
    assert result.pins == {by_name(result, "Ask").id: {"answer": 42}, by_name(result, "Start").id: [{"a": 1}, {"a": 2}]}
    assert result.report.connections == [{"node": "Ask", "credential_type": "openAiApi", "n8n_name": "Work key"}]
    assert "sk-live" not in json.dumps(result.flow.model_dump())
    assert result.report.removed_secrets and "Call" in result.report.removed_secrets[0]


@pytest.mark.parametrize("data,needle", [
    ({"format_version": 1, "nodes": [], "wires": []}, "Flow Studio flow"),
    ({"hello": "world"}, "'nodes'"),
    ([1, 2], "one n8n workflow"),
    ("text", "JSON object"),
    ({"nodes": [{"name": "x"}], "connections": {}}, "no node has a 'type'"),
])
def test_what_is_not_an_n8n_workflow_is_refused_by_name(data, needle):
    with pytest.raises(NotAnN8nWorkflow, match=needle):
        convert(data)


def test_embeddings_sub_node_of_an_unknown_vector_store_is_wired_into_the_placeholder():
    result = convert(json.loads((FIXTURES / "real-world-telegram-bot.json").read_text(encoding="utf-8")))
    flow = result.flow
    embed, store = by_name(result, "Embeddings OpenAI"), by_name(result, "Vector Store")
    assert embed.action == "embeddings.create" and embed.values["model"] == "text-embedding-3-small"
    assert embed.values["dimensions"] == 256
    assert any(w.source.node == embed.id and w.target == type(w.target)(node=store.id, port="sub_nodes")
               for w in flow.wires)
    assert validate_flow(flow, load_catalog()) == []


def test_a_value_the_catalog_cannot_take_is_left_out_but_kept_in_the_notes():
    # An HTTP Request whose host comes from an expression is refused by the trust rules.
    result = imported(manual(), node("Call", "n8n-nodes-base.httpRequest", 4.2, {"url": "={{ $json.url }}"}),
                      node("Gen", OPENAI, 1, {"resource": "image", "prompt": "x", "options": {"size": "999x1"}}),
                      connections=main(("Start", "Call"), ("Start", "Gen")))
    call, gen = by_name(result, "Call"), by_name(result, "Gen")
    assert "url" not in call.values and "n8n value left out: url = {{ input.url }}" in call.notes
    assert "size" not in gen.values and "size = 999x1" in gen.notes
    assert any(w.startswith("Call: url left out") for w in result.report.warnings)


def test_paths_into_outputs_that_differ_in_shape_are_adapted():
    chat = {"modelId": {"__rl": True, "value": "gpt-4o-mini", "mode": "list"}}
    result = imported(
        manual(), node("Ask", OPENAI, 1.8, chat),
        node("Next", OPENAI, 1.8, {"messages": {"values": [
            {"content": "={{ $json.message.content }} / {{ $('Ask').item.json.message.content.title }}"}]}}),
        node("Raw", OPENAI, 1.8, {**chat, "simplify": False}),
        node("After raw", OPENAI, 1.8, {"messages": {"values": [{"content": "={{ $json.choices[0].message.content }}"}]}}),
        connections=main(("Start", "Ask"), ("Ask", "Next"), ("Start", "Raw"), ("Raw", "After raw")))
    assert by_name(result, "Next").values["messages"][0]["content"] == "{{ input }} / {{ nodes.Ask.output.title }}"
    assert by_name(result, "After raw").values["messages"][0]["content"] == "{{ input.choices[0].message.content }}"


@pytest.mark.parametrize("version,params,expected", [
    (1, {}, "{{ input[\"input\"] }}"),
    (1.1, {}, "{{ input.chat_input }}"),
    (1.2, {}, "{{ input.chatInput }}"),
    (1.7, {}, "{{ input.chatInput }}"),
    (2, {"promptType": "define", "text": "=Q: {{ $json.q }}"}, "Q: {{ input.q }}"),
])
def test_agent_prompt_defaults_per_version(version, params, expected):
    result = imported(manual(), node("Agent", "@n8n/n8n-nodes-langchain.agent", version, params),
                      connections=main(("Start", "Agent")))
    assert by_name(result, "Agent").values["user_input"] == expected


def test_sql_agents_are_placeholders_and_old_agent_types_are_tools_agents_with_a_warning():
    result = imported(manual(), node("SQL", "@n8n/n8n-nodes-langchain.agent", 1.6, {"agent": "sqlAgent"}),
                      node("Conv", "@n8n/n8n-nodes-langchain.agent", 1.5))
    assert by_name(result, "SQL").action == "unsupported.n8n"
    assert by_name(result, "Conv").action == "agent.run"
    assert any("Conv: n8n's conversationalAgent" in w for w in result.report.warnings)


def test_structured_parser_v1_default_schema():
    parser = node("Parser", "@n8n/n8n-nodes-langchain.outputParserStructured", 1)
    agent = node("Agent", "@n8n/n8n-nodes-langchain.agent", 1.7, {"hasOutputParser": True})
    result = imported(manual(), agent, parser, connections={
        **main(("Start", "Agent")),
        "Parser": {"ai_outputParser": [[{"node": "Agent", "type": "ai_outputParser", "index": 0}]]}})
    assert set(by_name(result, "Agent config").values["output_schema"]["properties"]) == {"state", "cities"}


def test_wires_that_close_a_loop_are_left_out_and_listed():
    result = imported(manual(), node("A", "n8n-nodes-base.noOp"), node("B", "n8n-nodes-base.noOp"),
                      connections=main(("Start", "A"), ("A", "B"), ("B", "A")))
    pairs = {(result.flow.node(w.source.node).name, result.flow.node(w.target.node).name) for w in result.flow.wires}
    assert pairs == {("Start", "A"), ("A", "B")}
    assert any("B -> A closes a loop" in w for w in result.report.warnings)


def test_wires_into_triggers_are_left_out():
    result = imported(manual(), node("Hook", "n8n-nodes-base.webhook", 2), node("A", "n8n-nodes-base.code"),
                      node("Chat", "@n8n/n8n-nodes-langchain.chatTrigger", 1.1),
                      connections=main(("Start", "A"), ("A", "Hook"), ("A", "Start"), ("Chat", "A")))
    assert [n.name for n in result.flow.nodes if n.action.startswith("trigger.")] == ["Start"]
    pairs = {(result.flow.node(w.source.node).name, result.flow.node(w.target.node).name) for w in result.flow.wires}
    assert pairs == {("Start", "A")}


def test_an_unknown_trigger_next_to_a_known_one_is_kept_disabled_and_its_wires_follow_the_trigger():
    result = imported(manual(), node("Gmail Trigger", "n8n-nodes-base.gmailTrigger", 1.2), node("Do", "n8n-nodes-base.noOp"),
                      connections=main(("Start", "Do"), ("Gmail Trigger", "Do")))
    gmail = by_name(result, "Gmail Trigger")
    assert gmail.action == "unsupported.n8n" and gmail.disabled
    assert {"name": "Gmail Trigger", "type": "n8n-nodes-base.gmailTrigger"} in result.report.placeholders
    pairs = {(result.flow.node(w.source.node).name, result.flow.node(w.target.node).name) for w in result.flow.wires}
    assert pairs == {("Start", "Do")}


def test_http_request_versions_map_method_query_headers_and_body():
    v4 = {"method": "POST", "url": "https://api.example.com/items", "sendQuery": True,
          "queryParameters": {"parameters": [{"name": "q", "value": "={{ $json.q }}"}]},
          "sendBody": True, "specifyBody": "json", "jsonBody": "{\"a\": 1}",
          "options": {"response": {"response": {"responseFormat": "text", "neverError": True}}, "timeout": 5000}}
    v1 = {"requestMethod": "PUT", "url": "https://api.example.com/x",
          "bodyParametersUi": {"parameter": [{"name": "n", "value": "2"}]}, "options": {"bodyContentType": "form-urlencoded"}}
    result = imported(manual(), node("V4", "n8n-nodes-base.httpRequest", 4.2, v4), node("V1", "n8n-nodes-base.httpRequest", 1, v1),
                      connections=main(("Start", "V4"), ("Start", "V1")))
    assert by_name(result, "V4").values == {
        "method": "POST", "url": "https://api.example.com/items", "query": {"q": "{{ input.q }}"},
        "body_type": "json", "body": {"a": 1}, "response_format": "text", "full_response": False,
        "never_error": True, "timeout_ms": 5000}
    v1_values = by_name(result, "V1").values
    assert (v1_values["method"], v1_values["body_type"], v1_values["body"]) == ("PUT", "form", {"n": "2"})
