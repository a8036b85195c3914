"""n8n node names are free text; ours are used in expressions and follow `NAME_PATTERN`. Each n8n
name gets a legal, unique flow name, and the mapping is kept for wires and expressions."""

from __future__ import annotations

import re

from studio.flow.models import NAME_PATTERN

_LEGAL = re.compile(NAME_PATTERN)
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_ -]+")
_SPACES = re.compile(r"\s+")
MAX_LEN = 80


def legal_name(text: str) -> str:
    """`text` with what a flow name may not hold replaced: `When clicking ‘Test’` -> `When clicking Test`."""
    name = _SPACES.sub(" ", _BAD_CHARS.sub(" ", str(text))).strip()
    if not name:
        name = "Node"
    if not re.match(r"[A-Za-z_]", name[0]):
        name = "N " + name
    return name[:MAX_LEN].rstrip()


class NameTable:
    """n8n name -> flow name, unique among every name handed out so far."""

    def __init__(self) -> None:
        self.by_n8n: dict[str, str] = {}
        self._taken: set[str] = set()

    def reserve(self, wanted: str) -> str:
        """A fresh unique flow name close to `wanted` (for nodes the import adds)."""
        base = legal_name(wanted)
        name, i = base, 2
        while name.lower() in self._taken:
            suffix = f" {i}"
            name = base[: MAX_LEN - len(suffix)].rstrip() + suffix
            i += 1
        assert _LEGAL.match(name), name
        self._taken.add(name.lower())
        return name

    def add(self, n8n_name: str) -> str:
        name = self.reserve(n8n_name)
        self.by_n8n[n8n_name] = name
        return name

    def get(self, n8n_name: str) -> str | None:
        return self.by_n8n.get(n8n_name)
