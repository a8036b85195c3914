"""The one catalog: every action and connection type, looked up by id."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from .models import Action, AssertionKind, ConnectionType, Input


class Catalog(BaseModel):
    actions: list[Action]
    connections: list[ConnectionType]
    assertions: list[AssertionKind] = Field(default_factory=list)

    def model_post_init(self, __context: Any) -> None:
        self._by_id = {a.id: a for a in self.actions}
        if len(self._by_id) != len(self.actions):
            seen: set[str] = set()
            dupes = [a.id for a in self.actions if a.id in seen or seen.add(a.id)]
            raise ValueError(f"duplicate action ids in catalog: {dupes}")

    def get(self, action_id: str) -> Action:
        try:
            return self._by_id[action_id]
        except KeyError:
            raise KeyError(f"unknown action {action_id!r}") from None

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._by_id

    def connection(self, connection_type_id: str) -> ConnectionType:
        for c in self.connections:
            if c.id == connection_type_id:
                return c
        raise KeyError(f"unknown connection type {connection_type_id!r}")

    def assertion(self, kind: str) -> AssertionKind:
        for item in self.assertions:
            if item.id == kind:
                return item
        raise KeyError(f"unknown assertion kind {kind!r}")

    def to_public_json(self) -> dict[str, Any]:
        """The stable shape printed by `studio catalog --json`."""
        return {
            "actions": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "title": a.title,
                    "category": a.category,
                    "description": a.description,
                    "deprecated": a.deprecated,
                    "api": a.api,
                    "endpoints": list(a.endpoints),
                    "sources": [s.model_dump() for s in a.sources],
                    "inputs": [_public_input(i) for i in a.inputs],
                    "outputs": [o.model_dump() for o in a.outputs],
                }
                for a in self.actions
            ],
            "connections": [c.model_dump() for c in self.connections],
            "assertions": [
                {"id": k.id, "title": k.title, "description": k.description, "target": k.target,
                 "deterministic": k.deterministic,
                 "inputs": [_public_input(i) for i in k.inputs]}
                for k in self.assertions
            ],
        }


def _public_input(i: Input) -> dict[str, Any]:
    return {
        "key": i.key,
        "label": i.label,
        "aliases": list(i.aliases),
        "type": i.type.value,
        "options": [o.model_dump() for o in i.options] if i.options else None,
        "required": i.required,
        "default": i.default,
        "description": i.description,
        "minimum": i.minimum,
        "maximum": i.maximum,
        "port": i.port,
    }


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Build the catalog from the data modules (cached: it is immutable data)."""
    from .data import ACTIONS, ASSERTIONS, CONNECTIONS

    return Catalog(actions=ACTIONS, connections=CONNECTIONS, assertions=ASSERTIONS)
