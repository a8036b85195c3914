"""The catalog covers the seed documents: every documented action is some node's source, every
documented input is one of that node's fields (by label or alias), with the documented default."""

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from seed_parsers import all_documents  # noqa: E402

from studio.catalog import ValueType, load_catalog  # noqa: E402

CATALOG = load_catalog()
DOCUMENTS = all_documents()


def norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower())


def action_for(system: str, name: str):
    matches = [a for a in CATALOG.actions if any(s.system == system and s.name == name for s in a.sources)]
    assert len(matches) == 1, f"{system} action {name!r} is the source of {len(matches)} catalog actions"
    return matches[0]


def documented_value(text: str):
    """A default as the document writes it, read as the JSON value it denotes where it is one."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def test_every_document_action_is_a_catalog_source():
    names = {(d.system, d.name) for d in DOCUMENTS}
    assert len(names) == 59  # 23 Prismatic (its v1 repeats 6 of them), 14 Composio, 7 ByteChef, 15 n8n
    for system, name in sorted(names):
        action_for(system, name)
    sources = {(s.system, s.name) for a in CATALOG.actions for s in a.sources}
    assert names <= sources


def test_prismatic_kinds_follow_the_document():
    for doc in DOCUMENTS:
        action = action_for(doc.system, doc.name)
        if doc.kind == "trigger":
            assert action.kind == "trigger", doc.name
        elif doc.name.startswith("Agent: "):
            assert action.kind == "agent", doc.name


# Defaults that differ from the documents on purpose, by input key. Timeout (ms): the documented
# 10000 made every call, streams and image generations included, fail after 10 s; 0 leaves the
# limits to the client (connect 5 s, read 600 s, 60 s idle in a stream), as OpenAI's SDK does.
# Keyed by input key (every action) or by (action id, input key). Create Chat Completion: the
# documented gpt-3.5-turbo is a retired-generation model and the documented Messages is a sample
# conversation about the 2020 World Series; the node defaults to a current model and to answering
# its input, and says "Documented default: ..." in the field's help text.
DELIBERATE_DEFAULTS = {
    "timeout_ms": 0,
    ("chat.create_completion", "model"): "gpt-4.1-mini",
    ("chat.create_completion", "messages"): [{"role": "system", "content": "You are a helpful assistant."},
                                             {"role": "user", "content": "{{ input | string }}"}],
}


def deliberate(action_id: str, key: str):
    for k in ((action_id, key), key):
        if k in DELIBERATE_DEFAULTS:
            return True, DELIBERATE_DEFAULTS[k]
    return False, None


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: f"{d.system}:{d.name}")
def test_every_documented_input_is_a_field_with_its_default(doc):
    action = action_for(doc.system, doc.name)
    by_label = {}
    for item in action.inputs:
        for label in [item.label, *item.aliases]:
            by_label.setdefault(norm(label), item)
    for label, default in doc.inputs.items():
        item = by_label.get(norm(label))
        assert item is not None, f"{doc.system} {doc.name!r}: input {label!r} missing from {action.id}"
        departs, chosen = deliberate(action.id, item.key)
        if departs:
            assert item.default == chosen, (action.id, label)
            if default is not None and item.key != "timeout_ms":
                assert "Documented default:" in item.description, (action.id, label)
        elif default is not None:
            expected = documented_value(default)
            if item.type in (ValueType.NUMBER, ValueType.INTEGER):
                assert float(item.default) == float(expected), (action.id, label)
            else:
                assert item.default == expected, (action.id, label, item.default, expected)


def test_documented_choices_are_enums():
    expectations = {
        ("image.generate", "size"): {"256x256", "512x512", "1024x1024"},
        ("raw.request", "response_type"): {"json", "text", "binary"},
        ("agent.create_code_interpreter_tool", "container_type"): {"auto"},
        ("agent.create_web_search_tool", "search_context_size"): {"low", "medium", "high"},
        ("audio.speech", "voice"): {"alloy", "echo", "fable", "onyx", "nova", "shimmer"},
        ("audio.speech", "response_format"): {"mp3", "opus", "aac", "flac"},
        ("audio.transcribe", "response_format"): {"json", "text", "srt", "verbose_json", "vtt"},
        ("message.create", "role"): {"user", "assistant"},
        ("run_step.list", "order"): {"asc", "desc"},
    }
    for (action_id, key), values in expectations.items():
        item = CATALOG.get(action_id).input(key)
        assert item.type is ValueType.ENUM, (action_id, key)
        assert values <= {o.value for o in item.options}, (action_id, key)


def test_issue_named_defaults():
    assert CATALOG.get("chat.create_completion").input("timeout_ms").default == 0  # see DELIBERATE_DEFAULTS
    assert CATALOG.get("agent.run").input("max_turns").default == 10
    assert CATALOG.get("raw.request").input("url").default == "/v1/models"
    assert CATALOG.get("agent.create_image_generation_tool").input("model").default == "gpt-image-1"


def test_connections_cover_api_key_organization_bearer_token_and_base_url():
    [openai] = [c for c in CATALOG.connections if c.id == "openai"]
    labels = {norm(label) for f in openai.fields for label in [f.label, *f.aliases]}
    assert {"apikey", "organization", "token", "baseurl"} <= labels
    assert [f.key for f in openai.fields if f.secret] == ["api_key"]
    assert {(s.system, s.name) for s in openai.sources} >= {("prismatic", "OpenAI API Key"),
                                                            ("bytechef", "Bearer Token")}
