"""The one error a flow file can raise on load, carrying where the problem is so that the CLI,
the editor and tests can all point at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow: `path` is a JSON path (`nodes[2].values.temperature`, or ""
    for the whole document) and `message` says what is wrong and what was expected.

    `severity` "error": the flow cannot be loaded or run as written. "warning": it loads and
    runs, but something in it is unfinished (an empty required field: that node will fail; a
    stored test that names a node no longer there: `studio test` fails that test)."""

    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


MAX_LISTED = 20
"""Problems listed after the first one in a message (all of them stay in `.problems`)."""


class FlowLoadError(Exception):
    """A flow file that cannot be loaded. `str()` is one message naming the file, the place (JSON
    path, or line:column for broken JSON) and what was expected.

    Also raised with just a message (`FlowLoadError("x.flow.json: cannot read the file")`)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        expected: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = path
        self.line = line
        self.column = column
        self.expected = expected
        # Always at least one, so callers (the editor's problem list) need no special case.
        full = f"{message}; expected {expected}" if expected and "expected" not in message else message
        self.problems: list[Problem] = list(problems) if problems else [Problem(path or "", full)]

    def where(self) -> str:
        if self.path:
            return self.path
        if self.line is not None:
            return f"line {self.line}, column {self.column or 1}"
        return ""

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.where()) if p]
        text = self.message
        if self.expected and "expected" not in text:
            text += f"; expected {self.expected}"
        rest = self.problems[1:]
        if rest:
            lines = [f"  {p}" for p in rest[:MAX_LISTED]]
            if len(rest) > MAX_LISTED:
                lines.append(f"  … and {len(rest) - MAX_LISTED} more")
            text += f"\n{len(rest)} more problem{'s' if len(rest) > 1 else ''}:\n" + "\n".join(lines)
        return ": ".join(parts + [text])

    def __repr__(self) -> str:
        return f"FlowLoadError({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # keep the attributes across pickling (process pools)
        return (_rebuild, (self.message, self.__dict__))


def _rebuild(message: str, state: dict[str, Any]) -> FlowLoadError:
    err = FlowLoadError(message)
    err.__dict__.update(state)
    return err


SECRET_PREFIXES = ("sk-",)

ECHO_LIMIT = 80
"""Characters of a user's text a message repeats; the rest is cut (a flow file may hold 100 KB values)."""


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text`, or its first `limit` characters and how long it was."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def quote(text: Any, limit: int = ECHO_LIMIT) -> str:
    """`repr(text)` for a message, cut like `clip`."""
    text = str(text)
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text):,} characters)"


def show_value(value: Any, limit: int = 40) -> str:
    """A short repr of a value for a message; anything that looks like a key is never echoed."""
    if isinstance(value, str):
        if value.strip().startswith(SECRET_PREFIXES):
            return "'sk-…' (a secret, not shown)"
        text = repr(value)
    elif isinstance(value, bool) or value is None:
        text = "true" if value is True else "false" if value is False else "null"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, dict):
        return "an object"
    elif isinstance(value, list):
        return "a list"
    else:
        return type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
