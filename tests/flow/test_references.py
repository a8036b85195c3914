"""The flow layer's reading of node references in expressions agrees with the engine's parser,
and renaming a node rewrites exactly its references."""

import pytest

from studio.engine.expressions import referenced_nodes
from studio.flow.references import referenced_names, rename_in_text, rename_in_value

TEMPLATES = [
    "{{ nodes.Write.output.choices[0].message.content }}",
    'Hi {{ nodes["Web Search"].output | json }} and {{ nodes.Write.status }}',
    "{{ nodes['Web Search'].output }}",
    "{{ trigger.nodes.Write }}",
    "{{ nodes[trigger.name].output }}",
    "{{ trigger.x | default('nodes.Write') }}",
    "no expression nodes.Write",
    "{{ nodes . Write . output }}",
    "{{ input | default(nodes.Other.output) }}",
    "{{ nodes[nodes.Pick.output].output }}",
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_same_names_as_the_engine(template):
    assert referenced_names(template) == referenced_nodes(template)


def test_rename_rewrites_only_that_node():
    assert rename_in_text("{{ nodes.Write.output }} {{ nodes.Writer.output }}", "Write", "Draft") == \
        "{{ nodes.Draft.output }} {{ nodes.Writer.output }}"
    assert rename_in_text("{{ nodes.Write.output }}", "Write", "First draft") == '{{ nodes["First draft"].output }}'
    assert rename_in_text("{{ nodes['Web Search'].output }}", "Web Search", "Search") == "{{ nodes['Search'].output }}"
    assert rename_in_text('{{ nodes["Web Search"].output }}', "Web Search", "Search") == '{{ nodes["Search"].output }}'
    assert rename_in_text("{{ trigger.x | default('nodes.Write') }} nodes.Write", "Write", "Draft") == \
        "{{ trigger.x | default('nodes.Write') }} nodes.Write"
    value = {"messages": [{"role": "user", "content": "{{ nodes.Write.output }}"}], "n": 1}
    assert rename_in_value(value, "Write", "Draft") == {
        "messages": [{"role": "user", "content": "{{ nodes.Draft.output }}"}], "n": 1}
    assert referenced_nodes(rename_in_text("{{ nodes.Write.output }}", "Write", "First draft")) == {"First draft"}
