"""docs/actions.md, generated from the catalog (so the list of actions and their endpoints is
never out of date): `python -m studio.catalog.actions_doc > docs/actions.md`.
tests/catalog/test_actions_doc.py fails when the file and the catalog disagree."""

from __future__ import annotations

import sys

from .catalog import Catalog, load_catalog

INTRO = """# Actions

Every node of the palette, grouped as the palette groups them (OpenAI's API reference groups for the
OpenAI actions), with the OpenAI API and endpoints each one calls. This file is generated from the
catalog: `python -m studio.catalog.actions_doc > docs/actions.md`.

Long-running objects (background responses, videos, batches, vector store files and file batches,
eval runs) are polled until done: each change of status is shown as progress on the node, and past
the node's **Max Wait (s)** the object is cancelled on OpenAI's side when it can be.

**Realtime is out of scope.** The Realtime API (`/v1/realtime`: WebRTC or WebSocket sessions with
live audio) is a long-lived, two-way session, not a call a node makes and finishes; no node uses it.
Embeddings are core nodes, documented with them.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def actions_markdown(catalog: Catalog) -> str:
    lines = [INTRO]
    groups: dict[str, list] = {}
    for action in catalog.actions:
        groups.setdefault(action.category, []).append(action)
    for category, actions in groups.items():
        lines += [f"## {category}", "", "| Node | Id | OpenAI API | Endpoints | Notes |", "|---|---|---|---|---|"]
        for action in actions:
            endpoints = "<br>".join(f"`{e}`" for e in action.endpoints) or "none (no API call)"
            notes = f"Deprecated: {action.deprecated}" if action.deprecated else ""
            lines.append(f"| {_cell(action.title)} | `{action.id}` | {action.api or '-'} | {endpoints} | "
                         f"{_cell(notes)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    sys.stdout.write(actions_markdown(load_catalog()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
