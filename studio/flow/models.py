"""The flow document: the single source of truth that the canvas displays and the engine runs.

It holds no secrets: a node's `connection` input is the *name* of a connection, and the key lives
in the credential store."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .cases import FlowTest

FORMAT_VERSION = 2
"""Version of the `*.flow.json` format this build writes. Older files are migrated on load."""

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_ -]{0,79}$"
"""Node names are used in expressions (`nodes.Summarize.output`), so they stay simple."""


def new_id() -> str:
    return str(uuid.uuid4())


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float = Field(default=0.0, description="Canvas x coordinate (scene units).")
    y: float = Field(default=0.0, description="Canvas y coordinate (scene units).")


class RetryPolicy(BaseModel):
    """How often a failing node is tried again before its on-error rule applies."""

    model_config = ConfigDict(extra="forbid")

    max_tries: int = Field(default=1, ge=1, le=10, description="Attempts in total (1 = no retry).")
    wait_ms: int = Field(default=1000, ge=0, le=600_000, description="Milliseconds between attempts.")


class Node(BaseModel):
    """One trigger, action or agent on the canvas."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id, description="Unique within the flow; wires refer to it.")
    action: str = Field(description="Catalog action id, e.g. `chat.create_completion` (`studio catalog`).")
    name: str = Field(pattern=NAME_PATTERN, description="Unique within the flow; expressions use it "
                      "(`{{ nodes.Summarize.output }}`).")
    # Input values by catalog input key. A string holding `{{ ... }}` is an expression.
    values: dict[str, Any] = Field(default_factory=dict, description="Input values by catalog input key. "
                                   "A string holding `{{ ... }}` is an expression. Never secrets.")
    position: Position = Field(default_factory=Position)
    disabled: bool = Field(default=False, description="A disabled node passes its input through unchanged.")
    on_error: Literal["stop", "continue", "route"] = Field(
        default="stop", description="stop: the run fails; continue: downstream gets {error}; "
        "route: the error goes out of the `error` port only.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    notes: str = Field(default="", description="The author's notes about this node.")


class Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    node: str = Field(description="A node id.")
    port: str = Field(description='An output port key on a source; an input key or "in" on a target.')


class Wire(BaseModel):
    """Data flows from an output port of one node to an input port of another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Endpoint
    target: Endpoint


class Note(BaseModel):
    """A sticky comment on the canvas."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    text: str = ""
    position: Position = Field(default_factory=Position)
    width: float = Field(default=240.0, gt=0)
    height: float = Field(default=120.0, gt=0)


class Group(BaseModel):
    """A coloured frame on the canvas around related nodes; moving it moves the nodes inside."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    title: str = Field(default="Group", max_length=200)
    color: str = Field(default="#3b82f6", pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")
    position: Position = Field(default_factory=Position)
    width: float = Field(default=400.0, gt=0)
    height: float = Field(default=240.0, gt=0)


class Flow(BaseModel):
    """A `*.flow.json` document: nodes, the wires between them, canvas notes and test cases."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = Field(default=FORMAT_VERSION, description="File format version; older "
                                "files are migrated on load, newer ones are refused.")
    id: str = Field(default_factory=new_id)
    name: str = "Untitled flow"
    description: str = ""
    version: int = Field(default=1, ge=1, description="Bumped on every save by the editor.")
    nodes: list[Node] = Field(default_factory=list)
    wires: list[Wire] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list, description="Sticky comments on the canvas.")
    groups: list[Group] = Field(default_factory=list, description="Coloured frames around related nodes "
                                "(left out of the file when there are none).")
    # Free-form settings the editor keeps with the flow (example inputs, chosen reply node ...).
    settings: dict[str, Any] = Field(default_factory=dict, description="Free-form editor settings "
                                     "(example inputs, chosen reply node ...). Never secrets.")
    tests: list[FlowTest] = Field(default_factory=list, description="Stored test cases (`studio test`).")

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node with id {node_id!r}")

    def node_by_name(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r}")

    def incoming(self, node_id: str) -> list[Wire]:
        return [w for w in self.wires if w.target.node == node_id]

    def outgoing(self, node_id: str) -> list[Wire]:
        return [w for w in self.wires if w.source.node == node_id]
