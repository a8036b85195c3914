"""Read the five seed documents on their own terms, independently of the catalog, so the coverage
test compares the catalog against what the documents actually say."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"


@dataclass
class DocAction:
    system: str
    name: str
    inputs: dict[str, str | None] = field(default_factory=dict)  # label -> documented default (None: none)
    kind: str = "action"


def _table_rows(lines: list[str]) -> list[list[str]]:
    rows = []
    for line in lines:
        if line.startswith("|") and not re.match(r"^\|\s*[-:]+", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _clean_default(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    text = re.sub(r"</?code>", "", text).replace("<br />", "\n")
    return text


def prismatic(filename: str) -> list[DocAction]:
    text = (SEEDS / filename).read_text()
    actions: list[DocAction] = []
    section = None
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        head, *rest = block.split("\n")
        start = text.find("### " + head)
        section = text.rfind("\n## ", 0, start)
        section_name = text[section + 4: text.find("\n", section + 4)].strip()
        if section_name == "Connections":
            continue
        rows = _table_rows(rest)
        inputs = {r[0]: _clean_default(r[2]) if len(r) > 2 else None for r in rows[1:]} if rows else {}
        actions.append(DocAction("prismatic", head.strip(), inputs,
                                 "trigger" if section_name == "Triggers" else "action"))
    return actions


def bytechef() -> list[DocAction]:
    text = (SEEDS / "bytechef-openai-component.md").read_text()
    actions_part = text[text.index("## Actions"):]
    actions = []
    for block in re.split(r"^### ", actions_part, flags=re.M)[1:]:
        head, *rest = block.split("\n")
        if head.strip() == "Output":
            continue
        rows = _table_rows(rest)
        names = [r[0] for r in rows[1:] if r and r[0] and r[0] != "DYNAMIC_PROPERTIES"]
        actions.append(DocAction("bytechef", head.strip(), {k: None for k in names}))
    return actions


def composio() -> list[DocAction]:
    lines = (SEEDS / "composio-openai-toolkit.txt").read_text().splitlines()
    actions: list[DocAction] = []
    current: DocAction | None = None
    in_params = False
    enum_words: list[str] = []  # an enum's options are glued to the start of the next line
    for line in lines:
        match = re.match(r"^(.+?)OPENAI_[A-Z_]+Acción", line)
        if match and not line.startswith("OPENAI_"):
            current = DocAction("composio", match.group(1).strip())
            actions.append(current)
            in_params = False
        elif line.startswith("Parámetros de entrada"):
            in_params = True
        elif line.startswith("Parámetros de salida"):
            in_params = False
        elif in_params and current is not None:
            for word in sorted(enum_words, key=len, reverse=True) * 3:
                if line.startswith(word) and not line.startswith(word + "string"):
                    line = line[len(word):]
            param = re.match(r"^([a-z_]+(?:\[\])?)(?=string|integer|object|number|boolean)", line)
            if param:
                current.inputs[param.group(1)] = None
            enum_words = (re.findall(r"'([a-z]+)'", line) + ["asc", "desc"]) if "enum" in line else []
    return actions


_N8N_SKIP = {"Credential to connect with", "Resource", "Operation"}


def n8n() -> list[DocAction]:
    text = (SEEDS / "n8n-openai-node.md").read_text()
    ops_part = text[text.index("## Operations"):text.index("### Create an Assistant")]
    resource = None
    names: list[tuple[str, str]] = []
    for line in ops_part.splitlines():
        top = re.match(r"^\* (\w+)", line)
        sub = re.match(r"^\s+\* (?:\*\*(.+?)\*\*|([^*:]+?)\s*$)", line)
        if top:
            resource = top.group(1)
        elif sub and resource:
            names.append((resource, (sub.group(1) or sub.group(2)).strip()))
    actions = []
    for resource, op in names:
        action = DocAction("n8n", f"{resource}: {op}")
        # The operation's own section, if the document has one: its bold parameter bullets.
        match = re.search(rf"^##+ {re.escape(op)}\s*$", text, flags=re.M)
        if match:
            end = re.search(r"^#+ (?!Options\s*$)", text[match.end():], flags=re.M)
            body = text[match.end(): match.end() + end.start()] if end else text[match.end():]
            for bullet in re.finditer(r"^\s*- \*\*(.+?)\*\*:?(.*)$", body, flags=re.M):
                label, rest = bullet.group(1).strip(), bullet.group(2)
                if label in _N8N_SKIP or label in {"User", "Assistant", "System", "Natural", "Vivid",
                                                    "Image URL(s)", "Binary File(s)"} and op != "Analyze Image":
                    continue
                default = re.search(r"Defaults to `?([^`.]+)`?", rest)
                action.inputs[label] = default.group(1) if default else None
        actions.append(action)
    return actions


def all_documents() -> list[DocAction]:
    return (prismatic("prismatic-openai-connector.md") + prismatic("prismatic-openai-connector-v1.md")
            + composio() + bytechef() + n8n())
