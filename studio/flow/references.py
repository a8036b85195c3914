"""Which nodes the `{{ }}` expressions in a value name (`nodes.Write` / `nodes["Web Search"]`),
and renaming those references. The flow layer's reading of the engine's expression syntax
(studio.engine.expressions): the same template braces, tokens and string escapes, but no parser,
so validation and the editor's rename need nothing above `flow`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)  # as the engine splits a template
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Reference:
    """One `nodes.<name>` in a template: `start:end` is the text to replace to rename it (the
    `.Name` of a dotted reference, the quoted string of a bracketed one)."""

    name: str
    start: int
    end: int
    dotted: bool


def _tokens(body: str, offset: int) -> list[tuple[str, Any, int, int]] | None:
    """(kind, value, start, end) of each token of an expression body; None when it cannot be read
    (the engine reports those as expression errors)."""
    out: list[tuple[str, Any, int, int]] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            start, chars = i, []
            i += 1
            while i < len(body) and body[i] != ch:
                if body[i] == "\\" and i + 1 < len(body):
                    chars.append(_ESCAPES.get(body[i + 1], "\\" + body[i + 1]))
                    i += 2
                else:
                    chars.append(body[i])
                    i += 1
            if i >= len(body):
                return None
            i += 1
            out.append(("string", "".join(chars), offset + start, offset + i))
        elif m := _NUMBER.match(body, i):
            out.append(("number", m.group(), offset + i, offset + m.end()))
            i = m.end()
        elif m := _NAME.match(body, i):
            out.append(("name", m.group(), offset + i, offset + m.end()))
            i = m.end()
        elif ch in ".[]()|,":
            out.append(("op", ch, offset + i, offset + i + 1))
            i += 1
        else:
            return None
    return out


def references(template: str) -> list[Reference]:
    """Every node name the expressions of `template` read, in order (computed names such as
    `nodes[trigger.name]` are not listed)."""
    found: list[Reference] = []
    if not isinstance(template, str) or "{{" not in template:
        return found
    for match in _TEMPLATE.finditer(template):
        tokens = _tokens(match.group(1), match.start(1))
        if tokens is None:
            continue
        for i, (kind, value, _start, _end) in enumerate(tokens):
            if kind != "name" or value != "nodes" or (i and tokens[i - 1][:2] == ("op", ".")):
                continue  # not the `nodes` namespace (`trigger.nodes` is a key)
            step = tokens[i + 1:i + 4]
            if len(step) >= 2 and step[0][:2] == ("op", ".") and step[1][0] == "name":
                found.append(Reference(step[1][1], step[0][2], step[1][3], True))
            elif (len(step) == 3 and step[0][:2] == ("op", "[") and step[1][0] == "string"
                  and step[2][:2] == ("op", "]")):
                found.append(Reference(step[1][1], step[1][2], step[1][3], False))
    return found


def referenced_names(value: Any) -> set[str]:
    """Node names read by the expressions anywhere in `value` (text, or lists/dicts of them)."""
    return {ref.name for text in _strings(value) for ref in references(text)}


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def rename_in_text(template: str, old: str, new: str) -> str:
    """`template` with every reference to node `old` naming `new` instead (a dotted reference
    becomes `nodes["New name"]` when the new name is not an identifier)."""
    refs = [r for r in references(template) if r.name == old]
    for ref in reversed(refs):
        if ref.dotted:
            text = f".{new}" if _IDENT.match(new) else f"[{json.dumps(new)}]"
        else:
            quote = template[ref.start]
            text = json.dumps(new) if quote == '"' else "'" + new.replace("\\", "\\\\").replace("'", "\\'") + "'"
        template = template[:ref.start] + text + template[ref.end:]
    return template


def rename_in_value(value: Any, old: str, new: str) -> Any:
    """A copy of `value` (text, or lists/dicts of text) with references to `old` renamed."""
    if isinstance(value, str):
        return rename_in_text(value, old, new) if "{{" in value else value
    if isinstance(value, dict):
        return {k: rename_in_value(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_in_value(v, old, new) for v in value]
    return value
