"""n8n expressions (`={{ $json.x }}`, `{{ $('Node').item.json.f }}`, `$node["Name"].json`) in
Flow Studio's syntax (`{{ input.x }}`, `{{ nodes.Node.output.f }}`), where they mean the same:
a path into the current item or into another node's output. Anything else (JavaScript, `$now`,
method calls, arithmetic) has no equivalent: the value is kept as text and listed in the report."""

from __future__ import annotations

import json
import re
from typing import Any, Callable

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"\d+")
_STRING = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)\"""")
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class Untranslatable(Exception):
    """An n8n expression that has no Flow Studio equivalent."""


def _unquote(match: re.Match[str]) -> str:
    raw = match.group(1) if match.group(1) is not None else match.group(2)
    return re.sub(r"\\(.)", r"\1", raw)


class _Reader:
    """A cursor over one expression body with the few token shapes the translation accepts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, literal: str) -> bool:
        self.skip()
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def ident(self) -> str | None:
        self.skip()
        m = _IDENT.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group()

    def string(self) -> str | None:
        self.skip()
        m = _STRING.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return _unquote(m)

    def number(self) -> int | None:
        self.skip()
        m = _NUMBER.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return int(m.group())

    def done(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)


def _path(reader: _Reader) -> list[str | int]:
    """`.a.b[0]["c d"]` steps until the end of the body; anything else is untranslatable."""
    keys: list[str | int] = []
    while not reader.done():
        if reader.take("?."):
            name = reader.ident()
            if name is None:
                raise Untranslatable("expected a field name")
            keys.append(name)
        elif reader.take("."):
            name = reader.ident()
            if name is None or reader.take("("):
                raise Untranslatable("method calls have no equivalent")
            keys.append(name)
        elif reader.take("["):
            key: str | int | None = reader.string()
            if key is None:
                key = reader.number()
            if key is None or not reader.take("]"):
                raise Untranslatable("only literal keys and indexes have an equivalent")
            keys.append(key)
        else:
            raise Untranslatable("only a path into the data has an equivalent")
    return keys


def _node_ref(name: str) -> str:
    return f"nodes.{name}" if _PLAIN.match(name) else f"nodes[{json.dumps(name, ensure_ascii=False)}]"


def _render(root: str, keys: list[str | int]) -> str:
    """`root` plus the path; a trailing `.length` (JavaScript's length of a list or text) is our
    `length` filter."""
    if keys and keys[-1] == "length":
        return _render(root, keys[:-1]) + " | length"
    out = root
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        elif _PLAIN.match(key) and key not in ("nodes", "trigger", "input", "run"):
            out += f".{key}"
        else:
            out += f"[{json.dumps(key, ensure_ascii=False)}]"
    return out


Shapes = Callable[[str], list[tuple[list[str], list[str]]]]
"""n8n node name -> (n8n output path prefix, our output path prefix) pairs where the same value
sits elsewhere in our node's output (n8n's message.content is our simplified chat output)."""


def _reshape(keys: list[str | int], rules: list[tuple[list[str], list[str]]]) -> list[str | int]:
    for prefix, ours in rules:
        if keys[:len(prefix)] == prefix:
            return [*ours, *keys[len(prefix):]]
    return keys


def translate_body(body: str, resolve: Callable[[str], str | None], shapes: Shapes | None = None,
                   input_source: str | None = None) -> str:
    """One `{{ }}` body in our syntax; `resolve` maps an n8n node name to its flow name (None:
    the file has no such node); `shapes` adapts paths into outputs whose shape differs, and
    `input_source` names the node feeding this one (what `$json` reads). Raises Untranslatable."""
    shapes = shapes or (lambda name: [])
    reader = _Reader(body.strip())
    head = reader.ident()
    if head == "$json":
        return _render("input", _reshape(_path(reader), shapes(input_source) if input_source else []))
    if head == "$input":
        if not (reader.take(".item") or (reader.take(".first") and reader.take("(") and reader.take(")"))):
            raise Untranslatable("only $input.item and $input.first() have an equivalent")
        if not reader.take(".json"):
            raise Untranslatable("only the item's json has an equivalent")
        return _render("input", _reshape(_path(reader), shapes(input_source) if input_source else []))
    if head == "$":
        if not reader.take("("):
            raise Untranslatable("expected $('Node')")
        n8n_name = reader.string()
        if n8n_name is None or not reader.take(")"):
            raise Untranslatable("only a literal node name has an equivalent")
        if not (reader.take(".item") or (reader.take(".first") and reader.take("(") and reader.take(")"))):
            raise Untranslatable("only .item and .first() of another node have an equivalent")
        return _node_path(reader, n8n_name, resolve, shapes)
    if head == "$node":
        if reader.take("["):
            n8n_name = reader.string()
            if n8n_name is None or not reader.take("]"):
                raise Untranslatable("only a literal node name has an equivalent")
        elif reader.take("."):
            n8n_name = reader.ident()
            if n8n_name is None:
                raise Untranslatable("expected a node name")
        else:
            raise Untranslatable("expected $node[\"Name\"]")
        return _node_path(reader, n8n_name, resolve, shapes)
    raise Untranslatable(f"{head or body.strip()[:20]} has no equivalent")


def _node_path(reader: _Reader, n8n_name: str, resolve: Callable[[str], str | None], shapes: Shapes) -> str:
    if not reader.take(".json"):
        raise Untranslatable("only a node's json has an equivalent")
    name = resolve(n8n_name)
    if name is None:
        raise Untranslatable(f"the workflow has no node named {n8n_name!r}")
    return _render(_node_ref(name) + ".output", _reshape(_path(reader), shapes(n8n_name)))


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def translate_text(value: str, resolve: Callable[[str], str | None], shapes: Shapes | None = None,
                   input_source: str | None = None) -> str:
    """An n8n parameter string (`=` marks an expression) in our syntax; raises Untranslatable
    when one of its `{{ }}` has no equivalent or it is an expression without `{{ }}`."""
    if not is_expression(value):
        return value
    text = value[1:]
    if "{{" not in text:
        return text  # `=plain text` is just text in n8n too
    parts: list[str] = []
    pos = 0
    for match in _TEMPLATE.finditer(text):
        parts.append(text[pos:match.start()])
        parts.append("{{ " + translate_body(match.group(1), resolve, shapes, input_source) + " }}")
        pos = match.end()
    rest = text[pos:]
    if "{{" in rest or "}}" in rest:
        raise Untranslatable("unbalanced braces")
    parts.append(rest)
    return "".join(parts)
