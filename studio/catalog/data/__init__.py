"""Every action and connection type of the catalog, gathered from one module per area."""

from . import agents, assistants, files_models, imported, media, raw, text, triggers
from .connections import CONNECTIONS

ACTIONS = [
    *triggers.ACTIONS,
    *agents.ACTIONS,
    *text.ACTIONS,
    *media.ACTIONS,
    *files_models.ACTIONS,
    *assistants.ACTIONS,
    *raw.ACTIONS,
    *imported.ACTIONS,
]

__all__ = ["ACTIONS", "CONNECTIONS"]
