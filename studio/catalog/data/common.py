"""Small constructors for the catalog data, so each action reads as a list of its fields and the
inputs many actions share (connection, model, timeout) are written once."""

from __future__ import annotations

from typing import Any

from studio.catalog.models import Input, Option, Port, Source, ValueType

T = ValueType

MODEL_HELP = ("Select an OpenAI model to use for the request. The list of available models will be "
              "fetched from your OpenAI account.")
TIMEOUT_HELP = ("The maximum amount of time (in MS) to wait for a response. 0 (the default; the connector documents "
                "give 10000, which cut off long generations) uses the connection's limits: 5 s to connect, 600 s "
                "for an answer, 60 s between streamed chunks.")


def field(key: str, label: str, type: ValueType = T.STRING, description: str = "", *, aliases: tuple[str, ...] = (),
          default: Any = None, required: bool = False, options: list[Any] | None = None,
          minimum: float | None = None, maximum: float | None = None, group: str | None = None,
          port: bool = False, multiple: bool = False, accepts: str = "any", placeholder: str | None = None,
          per_item: bool = False, names_node: bool = False) -> Input:
    """One input. `options` may be plain values (label = value) or (value, label) pairs."""
    opts = None
    if options is not None:
        opts = [Option(value=o[0], label=o[1]) if isinstance(o, tuple) else Option(value=o, label=str(o))
                for o in options]
        type = T.ENUM
    return Input(key=key, label=label, aliases=list(aliases), type=type, options=opts, required=required,
                 default=default, description=description, minimum=minimum, maximum=maximum, group=group,
                 port=port, multiple=multiple, accepts=accepts, placeholder=placeholder,
                 per_item=per_item, names_node=names_node)


def connection() -> Input:
    return field("connection", "Connection", T.CONNECTION, "Connection to OpenAI API with your API key",
                 aliases=("OpenAI Connection", "Credential to connect with"))


def model(default: str | None = None, *, description: str = MODEL_HELP, aliases: tuple[str, ...] = (),
          required: bool = False, label: str = "Model") -> Input:
    return field("model", label, T.MODEL, description, default=default, aliases=aliases, required=required)


def timeout() -> Input:
    return field("timeout_ms", "Timeout (ms)", T.INTEGER, TIMEOUT_HELP, default=0, minimum=0, group="Advanced")


def simplify(default: bool = False) -> Input:
    return field("simplify", "Simplify Output", T.BOOLEAN,
                 "Turn on to return a simplified version of the response instead of the raw data.", default=default)


def src(system: str, *names: str) -> list[Source]:
    return [Source(system=system, name=n) for n in names]


def out(key: str = "output", label: str = "Output", type: str = "any") -> list[Port]:
    return [Port(key=key, label=label, type=type)]
