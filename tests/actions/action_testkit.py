"""Build a NodeContext for one action handler, with its events collected, so a handler can be
called directly against the fake server (or without any server for input checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from studio.catalog.models import Action
from studio.engine.context import NodeContext
from studio.flow.models import Flow, Node


def catalog_action(action_id: str) -> Action:
    """The catalog's description of the action (a bare one if the catalog lacks it)."""
    try:
        from studio.catalog import load_catalog

        catalog = load_catalog()
        if action_id in catalog:
            return catalog.get(action_id)
    except ImportError:
        pass
    return Action(id=action_id, kind="action", title=action_id, category="Test")


@dataclass
class Recorder:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [data for k, data in self.events if k == kind]


async def _no_connection(name: str | None) -> Any:
    raise AssertionError("this test does not expect an API call")


def make_context(
    action_id: str,
    inputs: dict[str, Any],
    run_dir: Path,
    *,
    connect: Callable[[str | None], Awaitable[Any]] | None = None,
    upstream: Any = None,
    timeout_s: float | None = None,
    services: dict[str, Any] | None = None,
    name: str = "Node",
) -> tuple[NodeContext, Recorder]:
    node = Node(action=action_id, name=name, values=dict(inputs))
    recorder = Recorder()
    ctx = NodeContext(
        run_id="test-run",
        flow=Flow(nodes=[node]),
        node=node,
        action=catalog_action(action_id),
        run_dir=run_dir,
        inputs=dict(inputs),
        upstream=upstream,
        emit=recorder,
        connect=connect or _no_connection,
        timeout_s=timeout_s,
        services=dict(services or {}),
    )
    return ctx, recorder
