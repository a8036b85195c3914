"""Every action, connection type and test assertion kind of the catalog, gathered from one module per area."""

from . import agents, assistants, files_models, media, raw, text, triggers
from .assertions import ASSERTIONS
from .connections import CONNECTIONS

ACTIONS = [
    *triggers.ACTIONS,
    *agents.ACTIONS,
    *text.ACTIONS,
    *media.ACTIONS,
    *files_models.ACTIONS,
    *assistants.ACTIONS,
    *raw.ACTIONS,
]

__all__ = ["ACTIONS", "ASSERTIONS", "CONNECTIONS"]
