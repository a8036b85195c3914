"""The shapes of the action catalog: plain data that panels, ports, validation, the CLI and the
executor all read, so that they can never disagree about what an action takes."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ValueType(str, Enum):
    """What kind of value an input holds; the property panel picks its widget from this."""

    STRING = "string"  # one line of text
    TEXT = "text"  # multi-line text (prompts, instructions)
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"  # one of `options`
    JSON = "json"  # any JSON value (objects, arrays, schemas)
    KEY_VALUE = "key_value"  # list of {key, value} pairs, stored as a JSON object
    STRING_LIST = "string_list"  # list of strings
    FILE = "file"  # a local path or an upstream artifact
    CONNECTION = "connection"  # the name of a connection (never the secret itself)
    MODEL = "model"  # a model id, picked from the connection's List Models


System = Literal["prismatic", "composio", "bytechef", "n8n"]
ActionKind = Literal["trigger", "action", "agent"]


class Source(BaseModel):
    """Where a capability is documented: the system and that document's own action name."""

    model_config = ConfigDict(frozen=True)

    system: System
    name: str


class Option(BaseModel):
    """One allowed value of an enum input."""

    model_config = ConfigDict(frozen=True)

    value: Any
    label: str


class Input(BaseModel):
    """One field of an action's property panel."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    aliases: list[str] = Field(default_factory=list)
    type: ValueType
    options: list[Option] | None = None
    required: bool = False
    default: Any = None
    description: str = ""
    # Numeric ranges as documented (spin boxes use them, validation checks them).
    minimum: float | None = None
    maximum: float | None = None
    # True when the input is also an input port: a wire from another node can supply its value
    # (an agent configuration, a list of tools, MCP servers ...). `multiple` collects every wire.
    port: bool = False
    multiple: bool = False
    accepts: str = "any"  # the port type a wire must carry to connect here ("agent", "tool", ...)
    # Inputs that only make sense together are grouped in the panel ("Options", "Retry").
    group: str | None = None
    placeholder: str | None = None
    # True when the input's `{{ }}` expressions are filled in by the handler once per item (with
    # `input` = that item), not once for the node: conditions and assignments of the core nodes.
    per_item: bool = False
    # The value is the name of another node of the flow (a Chat Trigger's Reply Node): renaming
    # that node renames the value too.
    names_node: bool = False

    @model_validator(mode="after")
    def _enum_has_options(self) -> "Input":
        if self.type is ValueType.ENUM and not self.options:
            raise ValueError(f"enum input {self.key!r} needs options")
        if self.type is not ValueType.ENUM and self.options:
            raise ValueError(f"input {self.key!r} has options but is not an enum")
        if self.type is ValueType.ENUM and self.default is not None:
            if self.default not in {o.value for o in self.options or []}:
                raise ValueError(f"default of enum input {self.key!r} is not one of its options")
        return self


class Port(BaseModel):
    """An output port. `type` says what travels on it (any JSON value, an agent configuration,
    a tool, an MCP server ...); the canvas only lets matching types connect."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    type: str = "any"
    description: str = ""


class Action(BaseModel):
    """One node type: a trigger, an action or an agent."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    kind: ActionKind
    title: str
    category: str  # palette group, as OpenAI's API reference groups them: "Responses", "Images", "Files" ...
    description: str = ""
    sources: list[Source] = Field(default_factory=list)
    inputs: list[Input] = Field(default_factory=list)
    outputs: list[Port] = Field(default_factory=lambda: [Port(key="output", label="Output")])
    # Set when the API behind it is on a retirement path: says what to use instead.
    deprecated: str | None = None
    # Which OpenAI API the node calls ("Responses", "Vector stores" ...; None: no API call of its
    # own) and the endpoints it uses ("POST /v1/responses"), as docs/actions.md lists them.
    api: str | None = None
    endpoints: list[str] = Field(default_factory=list)
    # True when the node's output ports are its `branches` input's keys (Classify and Branch).
    dynamic_outputs_from: str | None = None
    # Whether the node calls the API (and so takes a connection).
    uses_connection: bool = True

    def input(self, key: str) -> Input:
        for item in self.inputs:
            if item.key == key:
                return item
        raise KeyError(f"action {self.id!r} has no input {key!r}")

    def defaults(self) -> dict[str, Any]:
        """The documented default of every input that has one."""
        return {i.key: i.default for i in self.inputs if i.default is not None}


class ConnectionField(BaseModel):
    key: str
    label: str
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    secret: bool = False
    required: bool = False
    default: Any = None


class ConnectionType(BaseModel):
    """How a flow authenticates to an OpenAI-compatible server. Secret fields are kept in the
    credential store, never in a flow file."""

    id: str
    title: str
    description: str = ""
    sources: list[Source] = Field(default_factory=list)
    fields: list[ConnectionField]


class AssertionKind(BaseModel):
    """One kind of check a stored flow test can make. Its `inputs` are the assertion's `values`
    (edited in a generated form, like an action's properties). `target` says what it looks at:
    `output` a node's output (at an optional JSON path), `node` a node's run record, `run` the
    whole run (a node is optional). Non-deterministic kinds (a model's judgement) are skipped
    when a test replays and the cassette does not hold the judgement."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str = ""
    target: Literal["output", "node", "run"] = "output"
    inputs: list[Input] = Field(default_factory=list)
    deterministic: bool = True

    def input(self, key: str) -> Input:
        for item in self.inputs:
            if item.key == key:
                return item
        raise KeyError(f"assertion {self.id!r} has no field {key!r}")
