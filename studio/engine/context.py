"""What an action handler sees while it runs: its resolved inputs, the run's folder, the way to
report progress, and the OpenAI connection. Handlers know nothing of the graph around them."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from studio.flow.capabilities import Grant

if TYPE_CHECKING:  # pragma: no cover
    from studio.catalog.models import Action
    from studio.flow.models import Flow, Node


class NodeError(Exception):
    """A node failed for a reason the user can act on; the message names the field or cause.

    `retryable=False` tells the executor that trying again cannot help (bad input, refused key),
    so the node's retry policy is not spent on it."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.details = details or {}
        self.retryable = retryable


class WaitingForApproval(Exception):
    """Raised by a handler that cannot go on until a person approves something (a tool call).

    The node ends `waiting`, the run ends `waiting`, and `requests` (JSON-able descriptions of what
    needs approval) plus `state` (whatever the handler needs to resume) are kept in the result."""

    def __init__(self, requests: list[Any], state: Any = None, message: str = "waiting for approval") -> None:
        super().__init__(message)
        self.requests = list(requests)
        self.state = state


@dataclass(frozen=True)
class Artifact:
    """A binary output (image, audio, download) kept as a file under the run's folder."""

    path: str
    media_type: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"artifact": True, "path": self.path, "media_type": self.media_type, "size": self.size}


@dataclass(frozen=True)
class Routed:
    """A branch-routing node's result: only `port` is activated; the others' subgraphs are skipped."""

    port: str
    value: Any


@dataclass(frozen=True)
class Routes:
    """A result that activates only the listed ports, each with its own value (If, Switch and
    Filter send items several ways at once). No port listed: nothing downstream runs."""

    values: dict[str, Any]


@dataclass
class NodeContext:
    run_id: str
    flow: "Flow"
    node: "Node"
    action: "Action"
    run_dir: Path
    # Input values after defaults, expressions and wires were applied, coerced to their types.
    inputs: dict[str, Any]
    # What arrived on the main `in` port (one wire: that value; several: a list; none: None).
    upstream: Any
    # Emits an engine event for this node: emit("progress", message=...), emit("delta", text=...).
    emit: Callable[..., None]
    # Resolves a connection name (or None: the flow's default) into a ready client bundle;
    # provided by the runner so handlers never see where secrets come from.
    connect: Callable[[str | None], Awaitable[Any]]
    timeout_s: float | None = None
    # Extra services a runner provides (flow loader for flow tools, approval store, ...).
    services: dict[str, Any] = field(default_factory=dict)
    # Fills in a `per_item` input's expressions with `input` = item: render(value, item).
    render: Callable[[Any, Any], Any] | None = None
    # Runs the nodes wired to this node's `loop` port once per batch, up to `concurrency` at once:
    # await run_body(batches, concurrency) -> one {"status", "output", "error"} per batch.
    run_body: Callable[[list[Any], int], Awaitable[list[dict[str, Any]]]] | None = None

    # Set (by the executor) when the run cancels this node; made on first use, as most handlers
    # never look at it. Read it as `ctx.cancelled`.
    _cancelled: asyncio.Event | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The executor makes a node's context inside that node's own task, so from here on the
        # task (and tasks it starts) can find it: the OpenAI client reports its retries this way.
        current_node.set(self)

    @property
    def cancelled(self) -> asyncio.Event:
        """Set when the run cancels this node (just before its task is cancelled)."""
        if self._cancelled is None:
            self._cancelled = asyncio.Event()
        return self._cancelled

    def grant(self) -> Grant:
        """What this run may do on this machine (start a program, read a file outside the flow's
        folder, contact a host). The executor provides it; without one, nothing is allowed beyond
        reading inside the flow's folder and this run's own files."""
        grant = self.services.get("grant")
        if not isinstance(grant, Grant):
            grant = self.services["grant"] = Grant.for_flow(
                self.flow, self.services.get("catalog"), flow_dir=self.services.get("flow_dir"),
                roots=(self.run_dir,))
        return grant

    def save_artifact(self, name: str, data: bytes, media_type: str) -> Artifact:
        """Write bytes under <run_dir>/<node id>/ and describe them for the node's output."""
        folder = self.run_dir / self.node.id
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "artifact"
        path = folder / safe
        stem, suffix, n = path.stem, path.suffix, 1
        while path.exists():
            path = folder / f"{stem}-{n}{suffix}"
            n += 1
        path.write_bytes(data)
        return Artifact(path=str(path), media_type=media_type, size=len(data))


# The NodeContext of the node running in this task (None outside a node), for lower layers that
# are not handed the context, e.g. the OpenAI client emitting "progress" when it retries a call.
current_node: ContextVar[NodeContext | None] = ContextVar("studio_current_node", default=None)
