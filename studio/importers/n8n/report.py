"""What an import did, for `studio import n8n --json` and the editor's summary: how many nodes
came in, which became placeholders, which expressions stayed n8n text, which connections
(credentials are never imported) the user must set up, and what was left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportReport:
    nodes: int = 0  # n8n nodes in the file, sticky notes included
    converted: int = 0  # n8n nodes that became a working node, a folded setting or a note
    placeholders: list[dict[str, str]] = field(default_factory=list)  # {name, type}
    untranslated_expressions: list[dict[str, str]] = field(default_factory=list)  # {node, field, expression}
    connections: list[dict[str, str]] = field(default_factory=list)  # {node, credential_type, n8n_name}
    pinned: list[str] = field(default_factory=list)  # flow node names whose n8n pinData became a pin
    removed_secrets: list[str] = field(default_factory=list)  # node: parameter path
    warnings: list[str] = field(default_factory=list)

    def placeholder(self, name: str, n8n_type: str) -> None:
        self.placeholders.append({"name": name, "type": n8n_type})

    def untranslated(self, node: str, where: str, expression: str) -> None:
        self.untranslated_expressions.append({"node": node, "field": where, "expression": expression})

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "converted": self.converted,
            "placeholders": list(self.placeholders),
            "untranslated_expressions": list(self.untranslated_expressions),
            "connections": list(self.connections),
            "pinned": list(self.pinned),
            "removed_secrets": list(self.removed_secrets),
            "warnings": list(self.warnings),
        }

    def summary_lines(self) -> list[str]:
        """Plain lines for a terminal or a dialog."""
        lines = [f"{self.converted} of {self.nodes} n8n node(s) converted"]
        if self.placeholders:
            lines.append(f"{len(self.placeholders)} placeholder(s) to replace: "
                         + ", ".join(f"{p['name']} ({p['type']})" for p in self.placeholders))
        for item in self.untranslated_expressions:
            lines.append(f"kept as n8n text: {item['node']} / {item['field']}: {item['expression']}")
        seen: set[tuple[str, str]] = set()
        for item in self.connections:
            key = (item["credential_type"], item["n8n_name"])
            if key not in seen:
                seen.add(key)
                lines.append(f"set up a connection for n8n credential {item['n8n_name']!r} ({item['credential_type']})")
        if self.pinned:
            lines.append("pinned outputs: " + ", ".join(self.pinned))
        for item in self.removed_secrets:
            lines.append(f"left out a secret-looking value: {item}")
        lines.extend(self.warnings)
        return lines
