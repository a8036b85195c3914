"""Placeholders for nodes imported from another tool that have no equivalent here: they keep the
original's type, parameters and wires so nothing is lost, and fail clearly if a run reaches them."""

from studio.catalog.models import Action

from .common import T, field

UNSUPPORTED_N8N = "unsupported.n8n"

ACTIONS = [
    Action(
        id=UNSUPPORTED_N8N, kind="action", title="Unsupported n8n Node", category="Unsupported",
        uses_connection=False, outputs=[], dynamic_outputs_from="outputs",
        description="An n8n node with no Flow Studio equivalent, kept from an import with its parameters "
                    "and wires. It fails when a run reaches it: replace it with a node that does the same job.",
        inputs=[
            field("n8n_type", "n8n Node Type", T.STRING, "The n8n node type, e.g. n8n-nodes-base.googleSheets.",
                  required=True),
            field("n8n_type_version", "n8n Type Version", T.NUMBER, "The node type's version in the n8n file."),
            field("parameters", "n8n Parameters", T.JSON, "The node's parameters as the n8n file had them."),
            field("outputs", "Outputs", T.KEY_VALUE,
                  "The node's output ports (n8n output index order): port key -> label."),
            field("sub_nodes", "Sub-nodes", T.JSON,
                  "Wires from n8n sub-nodes (model, memory, tools, output parser) attached to this node.",
                  port=True, multiple=True),
        ],
    ),
]
