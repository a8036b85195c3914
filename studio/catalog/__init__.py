"""The action catalog: every trigger, action and agent node as data (no Qt, no I/O)."""

from .catalog import Catalog, load_catalog
from .models import Action, ActionKind, AssertionKind, ConnectionField, ConnectionType, Input, Option, Port, Source, ValueType

__all__ = [
    "Action", "ActionKind", "AssertionKind", "Catalog", "ConnectionField", "ConnectionType", "Input", "Option",
    "Port", "Source", "ValueType", "load_catalog",
]
