"""The syntax of `{{ }}` expressions: the tokenizer and the parser that turns one expression into
a tree of paths, literals and filters. Nothing here evaluates anything; see expressions.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .expression_limits import MAX_EXPRESSION_LENGTH, MAX_NESTING, MAX_TOKENS, NAMESPACES, ExpressionError

# The filters and how many arguments each takes (min, max); expressions.py holds what they do.
FILTER_ARITY: dict[str, tuple[int, int]] = {
    "json": (0, 1), "length": (0, 0), "default": (0, 1), "string": (0, 0), "upper": (0, 0), "lower": (0, 0),
    "trim": (0, 0), "number": (0, 0), "first": (0, 0), "last": (0, 0), "join": (0, 1), "keys": (0, 0),
}

# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "string", "number", "op", "end"
    value: Any
    pos: int


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_OPS = set(".[]()|,")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters", text[:40] + "...")
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            value, i = _read_string(text, i)
            tokens.append(Token("string", value, i))
        elif m := _NUMBER.match(text, i):
            raw = m.group()
            tokens.append(Token("number", float(raw) if "." in raw else int(raw), i))
            i = m.end()
        elif m := _NAME.match(text, i):
            tokens.append(Token("name", m.group(), i))
            i = m.end()
        elif ch in _OPS:
            tokens.append(Token("op", ch, i))
            i += 1
        else:
            raise ExpressionError(f"unexpected character {ch!r} at position {i + 1}", text)
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(f"expression has more than {MAX_TOKENS} parts", text)
    tokens.append(Token("end", None, len(text)))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise ExpressionError(f"text starting at position {start + 1} is missing its closing {quote}", text)


# --- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Path:
    root: str
    # Each step is a constant key/index or a nested expression giving one.
    steps: tuple[Any, ...]


@dataclass(frozen=True)
class Step:
    key: Any = None  # str | int when constant
    expr: Any = None  # node when computed: nodes[trigger.name]


@dataclass(frozen=True)
class Filter:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Pipe:
    head: Any
    filters: tuple[Filter, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(message, self.text)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect_op(self, op: str) -> None:
        token = self.take()
        if token.kind != "op" or token.value != op:
            raise self.error(f"expected {op!r} at position {token.pos + 1}, found {_describe(token)}")

    def parse(self) -> Pipe:
        if self.peek().kind == "end":
            raise self.error("empty expression")
        node = self.pipe()
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"unexpected {_describe(token)} at position {token.pos + 1}")
        return node

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression is nested more than {MAX_NESTING} levels deep")

    def pipe(self) -> Pipe:
        self.nested()
        head = self.primary()
        filters: list[Filter] = []
        while self.peek().kind == "op" and self.peek().value == "|":
            self.take()
            name = self.take()
            if name.kind != "name":
                raise self.error(f"expected a filter name after '|', found {_describe(name)}")
            if name.value not in FILTER_ARITY:
                raise self.error(f"unknown filter {name.value!r} (known: {', '.join(sorted(FILTER_ARITY))})")
            args: list[Any] = []
            if self.peek().kind == "op" and self.peek().value == "(":
                self.take()
                if not (self.peek().kind == "op" and self.peek().value == ")"):
                    args.append(self.pipe())
                    while self.peek().kind == "op" and self.peek().value == ",":
                        self.take()
                        args.append(self.pipe())
                self.expect_op(")")
            low, high = FILTER_ARITY[name.value]
            if not low <= len(args) <= high:
                expected = str(low) if low == high else f"{low} to {high}"
                raise self.error(f"filter {name.value!r} takes {expected} argument(s), got {len(args)}")
            filters.append(Filter(name.value, tuple(args)))
        self.depth -= 1
        return Pipe(head, tuple(filters))

    def primary(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number"):
            node: Any = Literal(token.value)
            if self.peek().kind == "op" and self.peek().value in ".[":
                raise self.error(f"a literal cannot be followed by {_describe(self.peek())}")
            return node
        if token.kind == "op" and token.value == "(":
            inner = self.pipe()
            self.expect_op(")")
            return inner
        if token.kind != "name":
            raise self.error(f"unexpected {_describe(token)} at position {token.pos + 1}")
        if token.value in ("true", "false"):
            return Literal(token.value == "true")
        if token.value in ("null", "none", "None"):
            return Literal(None)
        if token.value not in NAMESPACES:
            raise self.error(f"unknown name {token.value!r}; an expression starts with " + ", ".join(NAMESPACES))
        steps: list[Step] = []
        while self.peek().kind == "op" and self.peek().value in ".[":
            op = self.take().value
            if op == ".":
                name = self.take()
                if name.kind == "name":
                    steps.append(Step(key=name.value))
                elif name.kind == "number" and isinstance(name.value, int) and name.value >= 0:
                    steps.append(Step(key=name.value))
                else:
                    raise self.error(f"expected a key after '.', found {_describe(name)}")
            else:
                inner = self.pipe()
                self.expect_op("]")
                if isinstance(inner, Pipe) and not inner.filters and isinstance(inner.head, Literal):
                    steps.append(Step(key=inner.head.value))
                else:
                    steps.append(Step(expr=inner))
        if self.peek().kind == "op" and self.peek().value == "(":
            raise self.error("calls are not allowed; use a filter such as '| length'")
        return Path(token.value, tuple(steps))


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    if token.kind == "string":
        return f"text {token.value!r}"
    return repr(token.value)


def parse(expression: str) -> Pipe:
    """The syntax tree of one expression (the text between `{{` and `}}`)."""
    return _Parser(expression.strip()).parse()
